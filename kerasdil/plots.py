"""Plots written as PNG files (matplotlib, Agg backend, written atomically)."""

import os


def _figure(*args, **kwargs):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(*args, **kwargs)
    FigureCanvasAgg(fig)
    return fig


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
