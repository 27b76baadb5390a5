"""Plots written as PNG files (matplotlib, Agg backend, written atomically)."""

import os


def figure(*args, **kwargs):
    """A matplotlib ``Figure`` drawn by the Agg backend (no display, no pyplot state).

    Args:
        *args, **kwargs: passed to ``matplotlib.figure.Figure`` (e.g. ``figsize=(6, 4)``).

    Returns:
        The ``Figure``; write it with :func:`save_figure`.

    Example:
        >>> fig = figure(figsize=(6, 4))
        >>> ax = fig.add_subplot(1, 1, 1)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(*args, **kwargs)
    FigureCanvasAgg(fig)
    return fig


_figure = figure


def save_figure(fig, path):
    """Save ``fig`` to ``path`` via a temporary file; return the path."""
    tmp = f"{path}.tmp-{os.getpid()}.png"
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    os.replace(tmp, path)
    return path


def plot_history(history, path, title=None):
    """Training curves: every loss in one panel, every other metric in another.

    Args:
        history: list of per-epoch dicts with an "epoch" key and Keras log values.
        path: PNG destination.
    """
    epochs = [h["epoch"] for h in history]
    keys = sorted({k for h in history for k in h if k not in ("epoch", "seconds", "learning_rate")})
    losses = [k for k in keys if k.endswith("loss")]
    others = [k for k in keys if not k.endswith("loss")]
    panels = [p for p in (losses, others) if p]
    fig = _figure(figsize=(5.5 * len(panels), 3.8))
    for i, group in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for k in group:
            ax.plot(epochs, [h.get(k) for h in history], marker="o", ms=3, label=k)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_overlays(images, masks, predictions, path, *, num_classes=11, max_scenes=6, title=None):
    """PNG with one row per scene: image, ground truth, prediction (and errors).

    Args:
        images: (N, H, W[, 1]) floats in [0, 1] or uint8.
        masks, predictions: (N, H, W) class ids.
        path: PNG destination (written atomically).
        num_classes: for the colour map (0 background is black).
        max_scenes: rows to draw.

    Returns:
        ``path``.
    """
    import numpy as np
    from matplotlib import colormaps

    images = np.asarray(images)
    if images.ndim == 4:
        images = images[..., 0]
    n = min(max_scenes, len(images))
    palette = colormaps["tab10"](np.arange(10))[:, :3]
    colours = np.concatenate([np.zeros((1, 3)), palette[np.arange(max(num_classes - 1, 1)) % 10]])

    def paint(image, labels):
        grey = np.repeat(np.asarray(image, np.float32)[..., None], 3, -1)
        if grey.max() > 1:
            grey = grey / 255.0
        colour = colours[np.clip(labels, 0, len(colours) - 1)]
        fg = (labels > 0)[..., None]
        return np.where(fg, 0.35 * grey + 0.65 * colour, 0.5 * grey)

    fig = _figure(figsize=(10, 2.0 * n + 0.6))
    for i in range(n):
        wrong = masks[i] != predictions[i]
        panels = [
            (images[i], "image", "gray"),
            (paint(images[i], masks[i]), "ground truth", None),
            (paint(images[i], predictions[i]), "prediction", None),
            (wrong, f"errors ({int(wrong.sum())} px)", "Reds"),
        ]
        for j, (img, label, cmap) in enumerate(panels):
            ax = fig.add_subplot(n, 4, 4 * i + j + 1)
            ax.imshow(img, cmap=cmap, interpolation="nearest", vmin=0 if cmap else None, vmax=1 if cmap else None)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(label, fontsize=9)
            elif j == 3:
                ax.set_title(label, fontsize=8)
    handles = []
    from matplotlib.patches import Patch

    for c in range(1, num_classes):
        handles.append(Patch(color=colours[c], label=str(c - 1) if num_classes == 11 else str(c)))
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 10), fontsize=8,
               title="digit class colours", title_fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_confusion(confusion, path, class_names=None):
    """Confusion matrix heatmap with counts (rows: true class, columns: predicted)."""
    import numpy as np

    confusion = np.asarray(confusion)
    n = confusion.shape[0]
    names = class_names or [str(i) for i in range(n)]
    fig = _figure(figsize=(0.55 * n + 2.5, 0.55 * n + 2))
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(np.log1p(confusion), cmap="Blues")
    for i in range(n):
        for j in range(n):
            if confusion[i, j]:
                ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if i == j else "black")
    ax.set_xticks(range(n), names)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    acc = confusion.trace() / max(confusion.sum(), 1)
    ax.set_title(f"accuracy {acc:.4f} ({confusion.sum() - confusion.trace()} errors)")
    return save_figure(fig, path)


def plot_corruption_grid(clean, cells, path, accuracy=None):
    """Examples of corrupted images: one row per corruption, the clean image then one column per severity.

    Args:
        clean: the clean image, ``(H, W)`` or ``(H, W, C)`` in [0, 1].
        cells: ``{corruption: {severity: image}}``, images like ``clean``.
        path: PNG destination.
        accuracy: optional ``{corruption: {str(severity): accuracy}}`` shown under each image.
    """
    import numpy as np

    def show(ax, image):
        image = np.asarray(image)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])

    names = list(cells)
    levels = sorted({s for by_level in cells.values() for s in by_level})
    fig = _figure(figsize=(1.2 * (len(levels) + 1) + 0.8, 1.25 * len(names) + 0.4))
    for i, name in enumerate(names):
        ax = fig.add_subplot(len(names), len(levels) + 1, i * (len(levels) + 1) + 1)
        show(ax, clean)
        ax.set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
        if i == 0:
            ax.set_title("clean", fontsize=8)
        for j, level in enumerate(levels):
            ax = fig.add_subplot(len(names), len(levels) + 1, i * (len(levels) + 1) + j + 2)
            if level in cells[name]:
                show(ax, cells[name][level])
            else:
                ax.axis("off")
            if i == 0:
                ax.set_title(f"severity {level}", fontsize=8)
            value = (accuracy or {}).get(name, {}).get(str(level))
            if value is not None:
                ax.set_xlabel(f"acc {value:.3f}", fontsize=7)
    return save_figure(fig, path)
