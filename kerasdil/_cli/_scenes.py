"""Command-line flags that say how MNIST scenes look: shared by train, evaluate and tune.

``--canvas 96,96 --scene-scale 0.5,2.0 --scene-digits 1,5 --scene-unit-share 0.3`` map to the
``canvas_size``, ``scale_range``, ``digits_per_image`` and ``unit_scale_share`` fields of
``kerasdil.data.scenes.SceneConfig``; a flag not given keeps the recipe's (train)
or the model's (evaluate) value. ``--scene-generators standard,touching`` names generators of
``kerasdil.data.scenes.SCENE_GENERATORS``: train on their mixture, or score on each (evaluate).
"""

import argparse


def _pair(kind, what, example):
    def parse(text):
        parts = [p.strip() for p in str(text).replace("x", ",").split(",")]
        try:
            if len(parts) != 2:
                raise ValueError
            return tuple(kind(p) for p in parts)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be two {kind.__name__}s such as {example}, got {text!r}") from None

    return parse


canvas_arg = _pair(int, "the canvas", "96,96 (height,width)")
scale_arg = _pair(float, "the digit scale range", "0.5,2.0 (low,high)")
digits_arg = _pair(int, "the digits per scene", "1,5 (low,high)")


def _share(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"the share of unit-scale digits must be a number from 0 to 1, got {text!r}")
    return value


def add_scene_arguments(p, canvas=True, generators_help=None):
    """Add --canvas (unless ``canvas=False``, for commands with their own input size), --scene-scale,
    --scene-digits and --scene-unit-share to parser ``p``; --scene-generators too with its help text."""
    if canvas:
        p.add_argument("--canvas", type=canvas_arg, default=None, metavar="H,W",
                       help="segmenters: scene canvas height,width, e.g. 96,96 (the model is built at this size)")
    p.add_argument("--scene-scale", type=scale_arg, default=None, metavar="LOW,HIGH",
                   help="segmenters: each digit is resized by a factor drawn from LOW..HIGH, e.g. 0.5,2.0 (default 1,1)")
    p.add_argument("--scene-digits", type=digits_arg, default=None, metavar="LOW,HIGH",
                   help="segmenters: digits per scene, LOW..HIGH inclusive, e.g. 1,5 (default 1,3)")
    p.add_argument("--scene-unit-share", type=_share, default=None, metavar="F",
                   help="segmenters: share of the digits kept at scale 1, the rest drawn from --scene-scale "
                        "(a mix of standard and varied scenes; default 0)")
    if generators_help:
        p.add_argument("--scene-generators", default=None, metavar="NAMES", help=generators_help)


def scene_settings(args):
    """The SceneConfig fields the flags in ``args`` give (a dict; None when none are given)."""
    scenes = {}
    for flag, field in (("canvas", "canvas_size"), ("scene_scale", "scale_range"), ("scene_digits", "digits_per_image"),
                        ("scene_unit_share", "unit_scale_share"), ("scene_generators", "generators")):
        value = getattr(args, flag, None)
        if value is not None:
            scenes[field] = value
    return scenes or None
