"""deeplab_aspp's schedule-search families (kerasdil.tune): the segmenter and its mobile configuration.

Plain data (the fields of :class:`kerasdil.tune.SearchFamily`), named by the
record (``search_families``) and read by ``kerasdil.tune``. Receptive-field chains, costs and stage rates come from ``plan.py``, the
plan the builder builds from; tests/test_tune_deeplab.py pins them against
built models.
"""

from kerasdil.zoo.deeplab_aspp.plan import (
    ASPP_RATES_AT_OS8,
    BACKBONE_WIDTH,
    DEFAULT_OUTPUT_STRIDE,
    DEFAULT_SCHEDULE,
    MOBILE_CONFIG,
    MOBILE_FIXED,
    OUTPUT_STRIDES,
    SEGMENTATION_INPUT_SHAPE,
    SEGMENTATION_NUM_CLASSES,
    deeplab_aspp_cost,
    deeplab_aspp_mobile_cost,
    default_aspp_rates,
    stage_plan,
)


def _stage_rates(schedule, aspp_rates=None, output_stride=DEFAULT_OUTPUT_STRIDE, stem="full"):
    return tuple(s.rates for s in stage_plan(schedule, stem=stem, output_stride=output_stride).stages)


def _specs(schedule, input_shape, aspp_rates, output_stride, stem="full"):
    # The backbone's chain, then the widest ASPP branch (image pooling is global and not
    # counted), as ASPP.receptive_field_layers() says.
    from kerasdil.receptive import LayerSpec

    return stage_plan(schedule, stem=stem, output_stride=output_stride).layer_specs() + [
        LayerSpec(3, 1, max(aspp_rates))]


def _check(space, input_shape):
    h, w = input_shape[0], input_shape[1]
    for stride in space.output_strides:
        if h % stride or w % stride:
            fits = [str(s) for s in OUTPUT_STRIDES if not h % s and not w % s]
            hint = (f"search output stride{'s' if len(fits) > 1 else ''} {','.join(fits)} only" if fits
                    else "pick another input size")
            raise ValueError(
                f"deeplab_aspp: output stride {stride} does not divide the input size {h}x{w}; "
                f"{hint}, or use an input size whose sides are multiples of {stride}."
            )


def _zoo_config(config):
    """The builder's defaults with what it resolves from None (schedule, ASPP rates) filled in."""
    output_stride = int(config.get("output_stride") or DEFAULT_OUTPUT_STRIDE)
    return {**config, "dilation_schedule": config.get("dilation_schedule") or DEFAULT_SCHEDULE,
            "aspp_rates": tuple(config.get("aspp_rates") or default_aspp_rates(output_stride)),
            "output_stride": output_stride}


DEEPLAB_ASPP = dict(
    name="deeplab_aspp",
    stages=4,
    layer_specs=_specs,
    cost=deeplab_aspp_cost,
    builder_kwargs=lambda schedule, width, aspp_rates, output_stride: {
        "dilation_schedule": schedule, "width": width, "aspp_rates": aspp_rates, "output_stride": output_stride},
    default_schedule=DEFAULT_SCHEDULE,
    default_width=BACKBONE_WIDTH,
    default_options=(("aspp_rates", ASPP_RATES_AT_OS8), ("output_stride", DEFAULT_OUTPUT_STRIDE)),
    stage_rates=_stage_rates,
    space_type="segmenter",
    input_shape=SEGMENTATION_INPUT_SHAPE,
    num_classes=SEGMENTATION_NUM_CLASSES,
    task="segmentation",
    objective="val_mean_iou",
    check=_check,
    zoo_config=_zoo_config,
)


def _mobile_specs(schedule, input_shape, aspp_rates, output_stride):
    # MOBILE_CONFIG: stage1 has no blocks, the strided stem takes its place.
    return _specs(((),) + tuple(schedule), input_shape, aspp_rates, output_stride, stem="strided")


def _mobile_stage_rates(schedule, aspp_rates=None, output_stride=DEFAULT_OUTPUT_STRIDE):
    return _stage_rates(((),) + tuple(schedule), output_stride=output_stride, stem="strided")[1:]


#: deeplab_aspp's mobile configuration (``MOBILE_CONFIG``): the schedules of stages 2-4
#: (stage1 stays empty, the strided stem takes its place), the ASPP rates and the output
#: stride are searched; the stem, stage widths and light head stay MOBILE_CONFIG's.
DEEPLAB_ASPP_MOBILE = dict(
    DEEPLAB_ASPP,  # the same options, space type, task, objective and input-size check
    name="deeplab_aspp_mobile",
    stages=3,
    layer_specs=_mobile_specs,
    cost=deeplab_aspp_mobile_cost,
    builder_kwargs=lambda schedule, width, aspp_rates, output_stride: {
        **MOBILE_FIXED, "dilation_schedule": ((),) + tuple(tuple(r) for r in schedule),
        "width": width, "aspp_rates": aspp_rates, "output_stride": output_stride},
    default_schedule=tuple(tuple(r) for r in MOBILE_CONFIG["dilation_schedule"][1:]),
    default_width=MOBILE_CONFIG["width"],
    stage_rates=_mobile_stage_rates,
    zoo_model="deeplab_aspp",
    space_defaults=(("depths", (1, 2, 3)), ("rates", (1, 2, 3, 4)), ("widths", (MOBILE_CONFIG["width"],)),
                    ("later_stage_schedules", ((1, 2), (1, 2, 3), (1,))), ("output_strides", (8,))),
    default_text="deeplab_aspp(**MOBILE_CONFIG), kerasdil/zoo/deeplab_aspp/plan.py",
    first_stage=2,
)

FAMILIES = (DEEPLAB_ASPP, DEEPLAB_ASPP_MOBILE)
