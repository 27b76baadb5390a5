"""The schedule-search family of series_dsdc: plain data (the fields of ``kerasdil.tune.SearchFamily``).

One stage of 1D DSDC blocks after the stem. Candidates are increasing schedules of
rates 1..64 with 3 to 6 blocks at widths 32 or 64. A 1D chain is measured as a
square one (kernel k x k, dilation d x d): each axis of that chain is exactly the 1D
chain, so the receptive field the search reports (and ``--min-receptive-field``
bounds) is the field in steps, and holes are the 1D holes. To make the field cover
the series, pass its length: ``kerasdil tune series_dsdc --data aeon:GunPoint
--min-receptive-field 150``.
"""

from kerasdil.receptive import LayerSpec
from kerasdil.zoo.series_dsdc import record


def _specs(schedule, input_shape):
    (rates,) = schedule
    stride = record.stem_stride(input_shape[0])
    return [LayerSpec(record.STEM_KERNEL, stride)] + [LayerSpec(record.DEFAULT_KERNEL, 1, r) for r in rates]


def _cost(schedule, width, input_shape, num_classes):
    (rates,) = schedule
    return record.series_dsdc_cost(rates, width, input_shape, num_classes)


SERIES_DSDC = dict(
    name="series_dsdc",
    stages=1,
    layer_specs=_specs,
    cost=_cost,
    builder_kwargs=lambda schedule, width: {"dilation_schedule": tuple(schedule[0]), "width": width},
    default_schedule=((1, 2, 4, 8, 16),),  # what series_dsdc picks for GunPoint's 150 steps
    default_width=record.DEFAULT_WIDTH,
    input_shape=record.SERIES_INPUT_SHAPE,
    num_classes=record.SERIES_NUM_CLASSES,
    space_defaults=(("depths", (3, 4, 5, 6)), ("rates", (1, 2, 4, 8, 16, 32, 64)), ("widths", (32, 64))),
)

FAMILIES = (SERIES_DSDC,)
