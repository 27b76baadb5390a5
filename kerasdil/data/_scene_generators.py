"""Named scene generators (presets of :class:`SceneConfig`) and mixtures of them.

A generator is a way scenes are made: where digits go, whether they touch, how many there are,
how their sizes are drawn, what else is on the canvas. The presets form a family around the
standard scenes, so a segmenter can be trained on a mixture and scored on each
(``kerasdil evaluate deeplab_aspp:TAG --scene-generators all``). Everything here is importable
from :mod:`kerasdil.data.scenes`.
"""

from __future__ import annotations

import numpy as np

from kerasdil.data._scene_maker import SceneConfig, make_scenes

#: The named generators: ``SceneConfig`` fields of each (the rest are the defaults).
#:
#: - ``standard``: the default scenes, 64 x 80, 1-3 digits at MNIST's own size, never touching.
#: - ``varied``: 96 x 96, 1-5 digits at a size drawn uniformly from 0.5-2.0, never touching.
#: - ``touching``: 96 x 96, 2-5 digits at 0.7-1.5 (log-uniform), each after the first placed
#:   against an earlier one so that they touch and cross; the digit on top owns a pixel.
#: - ``crowd``: 96 x 96, 5-10 small digits at 0.6-1.1 (log-uniform), never touching, up to a
#:   quarter of a digit's box past the canvas border (digits cut by the border).
#: - ``clutter``: 96 x 96, 1-4 digits at 0.6-1.6 (log-uniform), never touching each other, over
#:   1-4 clutter strokes (long lines and arcs that cross them, labelled background), digits cut
#:   by the border.
SCENE_GENERATORS = {
    "standard": {},
    "varied": {"canvas_size": (96, 96), "digits_per_image": (1, 5), "scale_range": (0.5, 2.0)},
    "touching": {"canvas_size": (96, 96), "digits_per_image": (2, 5), "scale_range": (0.7, 1.5),
                 "scale_law": "log_uniform", "placement": "cluster", "overlap": "occlude"},
    "crowd": {"canvas_size": (96, 96), "digits_per_image": (5, 10), "scale_range": (0.6, 1.1),
              "scale_law": "log_uniform", "border_cut": 0.25},
    "clutter": {"canvas_size": (96, 96), "digits_per_image": (1, 4), "scale_range": (0.6, 1.6),
                "scale_law": "log_uniform", "clutter": (1, 4), "border_cut": 0.25},
}


def scene_generator(name, **overrides):
    """The :class:`SceneConfig` of the named generator, with ``overrides`` (e.g. ``canvas_size``).

    Raises:
        ValueError: an unknown name, or overrides that make a bad configuration.

    Example:
        >>> scene_generator("touching").placement
        'cluster'
    """
    if not isinstance(name, str) or name not in SCENE_GENERATORS:
        raise ValueError(f"mnist scenes: unknown scene generator {name!r}; the generators are "
                         f"{', '.join(SCENE_GENERATORS)}.")
    return SceneConfig(**{**SCENE_GENERATORS[name], **overrides})


def resolve_scene_generators(generators):
    """Generator names from ``"all"``, a comma-separated string or a list: a tuple, in the order given.

    Raises:
        ValueError: an unknown or repeated name, or none at all.

    Example:
        >>> resolve_scene_generators("standard,touching")
        ('standard', 'touching')
    """
    if isinstance(generators, str):
        generators = list(SCENE_GENERATORS) if generators.strip() == "all" else generators.split(",")
    names = tuple(str(g).strip() for g in generators)
    if not names:
        raise ValueError(f"mnist scenes: name at least one scene generator ({', '.join(SCENE_GENERATORS)}, or all).")
    for name in names:
        scene_generator(name)
    if len(set(names)) != len(names):
        raise ValueError(f"mnist scenes: scene generators named twice in {','.join(names)}.")
    return names


def make_mixed_scenes(digit_images, digit_labels, num_scenes, generators, *, canvas_size, seed=0, split_index=0,
                      epoch=0):
    """Scenes from a mixture of generators, all on one canvas, in shuffled order.

    The scenes are shared out as evenly as the count allows (the first generators get one more);
    generator ``k`` draws from its own stream (``make_scenes(stream=k + 1)``), so adding a
    generator to a mixture leaves the others' scenes as they were.

    Args:
        digit_images, digit_labels: the digit pool (see :func:`make_scenes`).
        num_scenes: scenes in all.
        generators: generator names (see :data:`SCENE_GENERATORS`; ``"all"`` or a comma list too).
        canvas_size: (height, width) every generator's scenes are made at.
        seed, split_index, epoch: as :func:`make_scenes`.

    Returns:
        (images uint8 (n, H, W), masks uint8 (n, H, W)).

    Example:
        >>> images, masks = make_mixed_scenes(x_train, y_train, 100, "touching,clutter", canvas_size=(96, 96))
    """
    names = resolve_scene_generators(generators)
    configs = [scene_generator(name, canvas_size=canvas_size) for name in names]
    counts = [num_scenes // len(configs) + (k < num_scenes % len(configs)) for k in range(len(configs))]
    parts = [make_scenes(digit_images, digit_labels, count, config=config, seed=seed, split_index=split_index,
                         epoch=epoch, stream=k + 1)[:2]
             for k, (config, count) in enumerate(zip(configs, counts))]
    order = np.random.default_rng([int(seed), int(split_index), int(epoch), 0]).permutation(num_scenes)
    return tuple(np.concatenate([p[i] for p in parts])[order] for i in (0, 1))
