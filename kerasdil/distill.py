"""Knowledge distillation: train a small classifier on a bigger one's soft outputs.

Hinton et al.'s recipe, as keras.io's "Knowledge Distillation" example writes it:
the student's loss is ``alpha * CE(labels, student) + (1 - alpha) * T**2 *
KL(softmax(teacher / T) || softmax(student / T))``. The teacher runs in inference
mode on the same (augmented) batch as the student. ``kerasdil.train.train(...,
teacher="mnist_dsdc:mnist")`` uses it; only the student is saved.
"""

import keras
from keras import ops

#: keras.io's example: 10% hard-label loss, temperature 10.
DEFAULT_ALPHA = 0.1
DEFAULT_TEMPERATURE = 10.0


def _logits(outputs, from_logits):
    # A softmax output's log is its logits up to a per-row constant, which the
    # tempered softmax ignores.
    return outputs if from_logits else ops.log(ops.maximum(outputs, 1e-30))


class Distiller(keras.Model):
    """Wraps ``student`` so that ``fit`` trains it against ``teacher``'s outputs.

    Args:
        student: the classifier being trained (softmax or logits output).
        teacher: a trained classifier with the same classes; never trained here.
        alpha: weight of the hard-label cross-entropy; ``1 - alpha`` goes to the
            distillation term. Default 0.1.
        temperature: softmax temperature of the distillation term. Default 10.

    Call ``compile(optimizer=..., metrics=[...])``; the loss is built in. Metrics
    see the student's outputs and the true labels.

    Example:
        >>> distiller = Distiller(student, teacher)
        >>> distiller.compile(optimizer="adam", metrics=["accuracy"])
    """

    def __init__(self, student, teacher, *, alpha=DEFAULT_ALPHA, temperature=DEFAULT_TEMPERATURE, **kwargs):
        super().__init__(name=kwargs.pop("name", f"{student.name}_distiller"), **kwargs)
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"Distiller: `alpha` must be in [0, 1], got {alpha!r}.")
        if not float(temperature) > 0:
            raise ValueError(f"Distiller: `temperature` must be > 0, got {temperature!r}.")
        if tuple(student.output_shape) != tuple(teacher.output_shape):
            raise ValueError(
                f"Distiller: the teacher's output shape {teacher.output_shape} differs from the student's "
                f"{student.output_shape}; both must score the same classes."
            )
        self.student = student
        self.teacher = teacher
        teacher.trainable = False
        self.alpha = float(alpha)
        self.temperature = float(temperature)
        self._student_logits = _has_no_softmax(student)
        self._teacher_logits = _has_no_softmax(teacher)
        self.built = True  # both models are built functional models

    def call(self, inputs, training=None):
        return self.student(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        t = self.temperature
        teacher_logits = _logits(self.teacher(x, training=False), self._teacher_logits)
        student_logits = _logits(y_pred, self._student_logits)
        hard = keras.losses.sparse_categorical_crossentropy(y, student_logits, from_logits=True)
        log_soft_teacher = ops.log_softmax(teacher_logits / t, axis=-1)
        log_soft_student = ops.log_softmax(student_logits / t, axis=-1)
        kl = ops.sum(ops.exp(log_soft_teacher) * (log_soft_teacher - log_soft_student), axis=-1)
        loss = self.alpha * hard + (1.0 - self.alpha) * (t * t) * kl
        if sample_weight is not None:
            loss = loss * ops.cast(sample_weight, loss.dtype)
        loss = ops.mean(loss)
        # Regularisation losses of the student (none in the zoo models, but kept).
        if self.student.losses:
            loss = loss + ops.sum(self.student.losses)
        return loss


def _has_no_softmax(model):
    """Whether ``model`` outputs logits (its last layer has no softmax)."""
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", None) != "softmax"
