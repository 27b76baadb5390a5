"""keras-tuner HyperModels whose hyperparameters are dilation schedules.

The searchable candidates (one schedule per stage plus a width, and for the
segmenter the ASPP rates and output stride, already pruned by
:mod:`kerasdil.tune.constraints`) are one categorical hyperparameter,
``candidate``; the learning rate is a second, optional one. Because everything
that changes the model sits inside the candidate, every budget (parameters,
MACs) was checked before the search, and ``build`` never meets a model it has
to reject. The model is compiled with the loss and metrics of its zoo task
(:mod:`kerasdil.tasks`): sparse cross-entropy and accuracy for mnist_dsdc,
per-pixel cross-entropy from logits with mIoU and pixel accuracy for
deeplab_aspp.

Example:
    >>> import keras_tuner as kt
    >>> from kerasdil.tune import ScheduleHyperModel, MNIST_DSDC, ScheduleSpace, Constraints, prune
    >>> keys = [c.key for c in prune(MNIST_DSDC, ScheduleSpace(), Constraints(gridding_free=True)).survivors]
    >>> hypermodel = ScheduleHyperModel(MNIST_DSDC, keys)
    >>> tuner = kt.RandomSearch(hypermodel, objective="val_accuracy", max_trials=5)   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import keras_tuner as kt

from kerasdil.tune.constraints import FAMILIES, SearchFamily, decode_candidate, decode_options


#: Name of the categorical hyperparameter that holds the encoded candidate.
CANDIDATE_HP = "candidate"
#: Name of the optional learning-rate hyperparameter.
LEARNING_RATE_HP = "learning_rate"


def get_family(model: str) -> SearchFamily:
    """The search family of a zoo model name.

    Raises:
        ValueError: the model has no schedule search space.
    """
    if model in FAMILIES:
        return FAMILIES[model]
    raise ValueError(f"no schedule search space for {model!r}; searchable models: {', '.join(sorted(FAMILIES))}.")


class ScheduleHyperModel(kt.HyperModel):
    """A HyperModel over pre-pruned schedule candidates of one zoo model.

    Hyperparameters:
        ``candidate``: ``hp.Choice`` over the encoded candidates
            (``"s1=1,2,5;s2=1,2,3;w=16"``; deeplab_aspp's end in
            ``";aspp=2,4,6;os=8"``), in the order given.
        ``learning_rate``: ``hp.Float`` on a log scale when
            ``learning_rate_range`` is set, otherwise fixed.

    Args:
        family: the model family (e.g. ``MNIST_DSDC`` or ``DEEPLAB_ASPP``).
        candidates: encoded candidate keys to choose from (non-empty).
        input_shape: model input shape (default: the family's).
        num_classes: classes (default: the family's).
        learning_rate: Adam learning rate when it is not searched.
        learning_rate_range: optional ``(low, high)`` to search it.
        dropout: dropout before the head (builder argument), or None for the
            builder's default.

    Raises:
        ValueError: no candidates, a malformed key, or a bad learning rate.
    """

    def __init__(
        self,
        family: SearchFamily,
        candidates: Sequence[str],
        *,
        input_shape=None,
        num_classes: Optional[int] = None,
        learning_rate: float = 3e-3,
        learning_rate_range: Optional[Tuple[float, float]] = None,
        dropout: Optional[float] = None,
        name: Optional[str] = None,
    ):
        super().__init__(name=name or f"{family.name}_schedule", tunable=True)
        candidates = list(candidates)
        if not candidates:
            raise ValueError(
                "no candidate is left to search: the constraints removed the whole space; "
                "relax them (e.g. a larger --max-params) or widen the space."
            )
        for key in candidates:
            decode_candidate(key)
            family.options_of(decode_options(key))
        if len(set(candidates)) != len(candidates):
            raise ValueError("candidates must not repeat.")
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}.")
        if learning_rate_range is not None:
            low, high = learning_rate_range
            if not 0 < low < high:
                raise ValueError(f"learning_rate_range must be (low, high) with 0 < low < high, got {learning_rate_range!r}.")
        self.family = family
        self.candidates = candidates
        self.input_shape = tuple(input_shape or family.input_shape)
        self.num_classes = int(num_classes or family.num_classes)
        self.learning_rate = float(learning_rate)
        self.learning_rate_range = None if learning_rate_range is None else tuple(map(float, learning_rate_range))
        self.dropout = dropout

    def declare_hyperparameters(self, hp):
        hp.Choice(CANDIDATE_HP, self.candidates)
        if self.learning_rate_range is not None:
            hp.Float(LEARNING_RATE_HP, *self.learning_rate_range, sampling="log")

    def build_model(self, key: str):
        """The (uncompiled) Keras model of one candidate key."""
        from kerasdil.zoo import create_model

        schedule, width = decode_candidate(key)
        options = dict(self.family.options_of(decode_options(key)))
        kwargs = self.family.builder_kwargs(schedule, width, **options)
        if self.dropout is not None:
            kwargs["dropout"] = self.dropout
        return create_model(self.family.model_name, input_shape=self.input_shape, num_classes=self.num_classes,
                            **kwargs)

    def build(self, hp):
        self.declare_hyperparameters(hp)
        key = hp.get(CANDIDATE_HP)
        lr = hp.get(LEARNING_RATE_HP) if self.learning_rate_range is not None else self.learning_rate
        model = self.build_model(key)
        from kerasdil.optimizers import Adam
        from kerasdil.tasks import get_task

        task = get_task(self.family.task)
        model.compile(optimizer=Adam(lr), loss=task.loss(), metrics=task.metrics())
        return model
