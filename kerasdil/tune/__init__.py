"""Dilation-schedule search with keras-tuner: constrained spaces, local and distributed search, reports.

The pure-Python part (spaces, constraints, measurements) is importable without
TensorFlow::

    >>> from kerasdil.tune.constraints import MNIST_DSDC, ScheduleSpace, Constraints, prune
    >>> result = prune(MNIST_DSDC, ScheduleSpace(), Constraints(gridding_free=True, max_params=12_234))
    >>> print(result.summary())                                  # doctest: +SKIP

The search and the reports (keras-tuner, TensorFlow) are loaded on first use::

    >>> from kerasdil.tune import search, make_report
    >>> search("mnist_dsdc", directory="runs/tune", tuner="hyperband", max_trials=20, epochs=3,
    ...        constraints=Constraints(gridding_free=True, min_receptive_field=28))   # doctest: +SKIP
    >>> reevaluate("runs/tune", top=2, seeds=(0, 1, 2), epochs=2).verdict            # doctest: +SKIP
    >>> make_report("runs/tune")                                                      # doctest: +SKIP

deeplab_aspp's space adds the ASPP rates and the output stride (:class:`SegmenterSpace`)
and is scored by ``val_mean_iou`` on MNIST scenes::

    >>> search("deeplab_aspp", directory="runs/tune_seg", tuner="random", max_trials=8, epochs=2,
    ...        space=SegmenterSpace(output_strides=(8, 16)), constraints=Constraints(max_params=110_000),
    ...        data="mnist.npz")                                                      # doctest: +SKIP

``deeplab_aspp_mobile`` searches deeplab_aspp's mobile configuration (stages 2-4, ASPP
rates, output stride; stem, widths and light head fixed), here on scale-varied scenes::

    >>> search("deeplab_aspp_mobile", directory="runs/tune_mobile", input_shape=(96, 96),
    ...        scenes={"scale_range": (0.5, 2.0), "digits_per_image": (1, 5)}, augment=True,
    ...        data="mnist.npz")                                                      # doctest: +SKIP

Modules: ``constraints`` (spaces, measurements, pruning, Pareto front),
``hypermodels`` (keras-tuner HyperModels), ``tuners`` (tuners, resume, the
``search`` function), ``reevaluate`` (top candidates and the zoo default
retrained over seeds), ``distributed`` (chief oracle and workers), ``report``
(leaderboard, plot, best model).
"""

import importlib

from kerasdil.tune.constraints import (  # noqa: F401  (importable here; __all__ lists what users call)
    FAMILIES,
    ORDERS,
    Candidate,
    Constraints,
    PruneResult,
    ScheduleSpace,
    SearchFamily,
    SegmenterSpace,
    decode_candidate,
    decode_options,
    encode_candidate,
    pareto_front,
    prune,
    register_family,
    stage_schedules,
)

_LAZY = {
    # The zoo entries' search families (kerasdil/zoo/<entry>/search.py), loaded on first use.
    "DEEPLAB_ASPP": "kerasdil.tune.constraints",
    "DEEPLAB_ASPP_MOBILE": "kerasdil.tune.constraints",
    "MNIST_DSDC": "kerasdil.tune.constraints",
    "ScheduleHyperModel": "kerasdil.tune.hypermodels",
    "get_family": "kerasdil.tune.hypermodels",
    "search": "kerasdil.tune.tuners",
    "SearchResult": "kerasdil.tune.tuners",
    "TUNERS": "kerasdil.tune.tuners",
    "make_oracle": "kerasdil.tune.tuners",
    "make_tuner": "kerasdil.tune.tuners",
    "zoo_default": "kerasdil.tune.tuners",
    "trial_name": "kerasdil.tune.tuners",
    "reevaluate": "kerasdil.tune.reevaluation",
    "ReevaluationResult": "kerasdil.tune.reevaluation",
    "make_report": "kerasdil.tune.report",
    "leaderboard": "kerasdil.tune.report",
    "export_best_model": "kerasdil.tune.report",
    "tuner_environment": "kerasdil.tune.distributed",
    "serve_oracle": "kerasdil.tune.distributed",
}

__all__ = [
    "Constraints", "SearchFamily", "export_best_model", "make_report", "reevaluate", "register_family",
    "search", "zoo_default",
]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kerasdil.tune' has no attribute {name!r}")
