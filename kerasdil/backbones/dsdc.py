"""The DSDC backbone, built from its stage plan (:mod:`kerasdil.backbones.plan`).

A 3x3 ``stem`` conv, then one ``DilationStack`` of DSDC blocks per stage, each
after a 2x2 max-pool unless the plan traded that pool for dilation. The layer
names (``stem``, ``pool1``, ``stage1``, ...) are those of every kerasdil
backbone, so ``kerasdil.finetune.transfer_backbone`` copies a classifier's
backbone into a segmenter's.

Example:
    >>> import keras
    >>> from kerasdil.backbones.plan import backbone_plan
    >>> plan = backbone_plan(((1, 2, 5), (1, 2, 3)), (36, 54), width=18, stem="pool")
    >>> maps = dsdc_backbone(keras.Input((28, 28, 1)), plan)
    >>> features_by_stride(plan, maps)[4].shape
    (None, 7, 7, 54)
"""

import keras
from keras import layers

from kerasdil.layers import DilatedConvBN, DilationStack, SpaceToDepth



def _stage(rates, filters, name, block, implementation, batchnorm):
    if block == "dsdc":
        return DilationStack(rates, filters, implementation=implementation, use_batchnorm=batchnorm, name=name)
    stage = keras.Sequential(name=name)  # full 3x3 convs: what separability saves is measured against this
    for j, r in enumerate(rates):
        stage.add(DilatedConvBN(filters, 3, dilation_rate=r, use_batchnorm=batchnorm, name=f"block{j + 1}"))
    return stage


def dsdc_backbone(image, plan, *, block="dsdc", implementation="auto", batchnorm=True):
    """The backbone of ``plan`` on the symbolic ``image``.

    Args:
        image: a ``keras.Input`` (H, W, C).
        plan: a :class:`kerasdil.backbones.plan.BackbonePlan`.
        block: "dsdc" (``DilationStack`` stages) or "conv" (stages of full
            3x3 ``DilatedConvBN`` blocks, for cost comparisons).
        implementation: depthwise implementation of the DSDC blocks.
        batchnorm: BatchNormalization after every conv (else biases).

    Returns:
        ``{"stem": tensor, "stage1": tensor, ...}``: every stage's output (a
        stage without blocks passes its input on).
    """
    if plan.stem == "space_to_depth":
        x = SpaceToDepth(2, name="space_to_depth")(image)
        x = DilatedConvBN(plan.width, 3, use_batchnorm=batchnorm, name="stem")(x)
    else:
        x = DilatedConvBN(plan.width, 3, strides=plan.stem_stride, use_batchnorm=batchnorm, name="stem")(image)
    maps = {"stem": x}
    for i, stage in enumerate(plan.stages):
        if stage.pool:
            x = layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
        if stage.rates:
            x = _stage(stage.rates, stage.filters, stage.name, block, implementation, batchnorm)(x)
        maps[stage.name] = x
    return maps


def features_by_stride(plan, maps):
    """``{stride: tensor}``: the last feature map of ``maps`` (from :func:`dsdc_backbone`) at each stride."""
    out = {plan.stem_stride: maps["stem"]}
    for stage in plan.stages:
        out[stage.stride] = maps[stage.name]
    return out
