"""mnist_dsdc's schedule-search family (kerasdil.tune): two stages and a width, from the entry's plan.

Plain data (the fields of :class:`kerasdil.tune.SearchFamily`), named by the
record (``search_families``) and read by ``kerasdil.tune``.
The receptive-field chain and the cost come from ``plan.py``, the plan the
builder builds from; tests/test_tune.py pins them against built models.
"""

from kerasdil.zoo.mnist_dsdc.plan import DEFAULT_SCHEDULE, STAGE_MULTIPLIERS, mnist_dsdc_cost, stage_plan


def _specs(schedule, input_shape):
    return stage_plan(schedule, 16).layer_specs()  # the width changes no receptive field


MNIST_DSDC = dict(
    name="mnist_dsdc",
    stages=2,
    layer_specs=_specs,
    cost=mnist_dsdc_cost,
    # The family pins the stem and stage widths it mirrors, whatever the builder's defaults.
    builder_kwargs=lambda schedule, width: {"dilation_schedule": schedule, "width": width, "stem": "pool",
                                            "stage_filters": [width * m for m in STAGE_MULTIPLIERS]},
    default_schedule=DEFAULT_SCHEDULE,
    default_width=16,
)

FAMILIES = (MNIST_DSDC,)
