"""Adam and AdamW whose TensorFlow update is one fused kernel per variable.

Keras 3 writes Adam's update in ``keras.ops``: per variable it recomputes the
bias corrections (two ``Pow``) and runs about twenty small ops; with weight decay
it also re-evaluates the learning-rate schedule once per variable. On TensorFlow
every one of those ops is a kernel launch. A DSDC network has several times the
variables of a plain convnet of the same cost (a depthwise kernel, a pointwise
kernel and two BN parameters per block), so on CPU the optimizer's launches are
a measurable part of its training step while a convnet barely notices them.

``kerasdil.optimizers.Adam`` and ``AdamW`` are Keras's classes with the same
arguments, variables, saved state and results (to float rounding). On the
TensorFlow backend they compute the schedule and the bias corrections once per
step and update each variable with TensorFlow's ``ResourceApplyAdam`` kernel
(the same formula as Keras's ``Adam.update_step``), and apply decoupled weight
decay with one ``ResourceApplyGradientDescent`` per variable. Anything else
(other backends, ``amsgrad``, sparse or mixed-dtype gradients, a
``tf.distribute`` strategy) runs Keras's own update.

``tools/bench_optimizer.py`` measures what it buys, Keras's optimizer against
these in alternating blocks of training steps (kerasdil/zoo/mnist_dsdc/studies.md records
``*_keras_adam`` variants too).
"""

import keras

from kerasdil import _compat

__all__ = ["Adam", "AdamW"]


def _fused_ok(optimizer, variables, grads=None):
    """Whether the fused TensorFlow update computes what Keras's update would here."""
    if keras.backend.backend() != "tensorflow" or optimizer.amsgrad:
        return False
    import tensorflow as tf

    if tf.distribute.has_strategy():
        return False  # Keras's update handles replicas and cross-replica merges
    if not all(_tf_variable(v).dtype.is_floating for v in variables):
        return False
    if grads is not None:
        for grad, variable in zip(grads, variables):
            if not isinstance(grad, tf.Tensor) or grad.dtype != _tf_variable(variable).dtype:
                return False  # IndexedSlices (sparse) or a gradient in another dtype
    return True


def _tf_variable(variable):
    """The ``tf.Variable`` behind a Keras variable (or the variable itself)."""
    return variable.value if isinstance(variable, keras.Variable) else variable


class _FusedAdamMixin:
    """The fused TensorFlow update, shared by ``Adam`` and ``AdamW``.

    It overrides two private hooks of Keras's optimizer, listed (and tested) in
    ``kerasdil._compat.OVERRIDDEN_HOOKS``.
    """

    def _apply_weight_decay(self, variables):
        if self.weight_decay is None:
            return
        if not _fused_ok(self, variables):
            return super()._apply_weight_decay(variables)
        import tensorflow as tf

        # One schedule evaluation per step (Keras evaluates it once per variable).
        lr = tf.cast(keras.ops.convert_to_tensor(self.learning_rate), tf.float32)
        factor = lr * tf.cast(self.weight_decay, tf.float32)
        for variable in variables:
            if _compat.uses_weight_decay(self, variable):
                tf_var = _tf_variable(variable)
                # var -= (lr * wd) * var, Keras's `variable.assign_sub(variable * wd * lr)`.
                tf.raw_ops.ResourceApplyGradientDescent(
                    var=tf_var.handle, alpha=tf.cast(factor, tf_var.dtype), delta=tf_var.read_value()
                )

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if not _fused_ok(self, trainable_variables, grads):
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        import tensorflow as tf

        lr = tf.cast(keras.ops.convert_to_tensor(learning_rate), tf.float32)
        step = tf.cast(self.iterations + 1, tf.float32)
        beta_1 = tf.constant(self.beta_1, tf.float32)
        beta_2 = tf.constant(self.beta_2, tf.float32)
        scalars = dict(lr=lr, beta1=beta_1, beta2=beta_2, epsilon=tf.constant(self.epsilon, tf.float32),
                       beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step))
        by_dtype = {tf.float32: scalars}
        for grad, variable in zip(grads, trainable_variables):
            tf_var = _tf_variable(variable)
            if tf_var.dtype not in by_dtype:
                by_dtype[tf_var.dtype] = {k: tf.cast(v, tf_var.dtype) for k, v in scalars.items()}
            momentum, velocity = _compat.adam_slots(self, variable)
            # ResourceApplyAdam's update is Keras's Adam.update_step:
            # m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2);
            # var -= m * lr * sqrt(1 - b2^t) / (1 - b1^t) / (sqrt(v) + eps).
            tf.raw_ops.ResourceApplyAdam(
                var=tf_var.handle,
                m=_tf_variable(momentum).handle,
                v=_tf_variable(velocity).handle,
                grad=grad,
                use_locking=False,
                **by_dtype[tf_var.dtype],
            )


@keras.saving.register_keras_serializable(package="kerasdil")
class Adam(_FusedAdamMixin, keras.optimizers.Adam):
    """``keras.optimizers.Adam`` with a fused update on TensorFlow.

    Same arguments (``weight_decay`` included), variables and checkpoints as
    Keras's Adam; see the module docstring for when the fused path runs.

    Example:
        >>> import kerasdil.optimizers
        >>> opt = kerasdil.optimizers.Adam(1e-3)
    """


@keras.saving.register_keras_serializable(package="kerasdil")
class AdamW(_FusedAdamMixin, keras.optimizers.AdamW):
    """``keras.optimizers.AdamW`` with a fused update on TensorFlow.

    Same arguments (default ``weight_decay=0.004``), variables and checkpoints as
    Keras's AdamW; see the module docstring for when the fused path runs.

    Example:
        >>> import kerasdil.optimizers
        >>> opt = kerasdil.optimizers.AdamW(3e-3, weight_decay=1e-4)
    """
