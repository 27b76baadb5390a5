"""Presentation of receptive fields: short offset text and the coverage heatmap.

matplotlib is imported inside plot_coverage only. Re-exported by :mod:`kerasdil.receptive`.
"""

from __future__ import annotations

import os
import tempfile
from typing import Optional

import numpy as np

from kerasdil._receptive_core import ReceptiveField

def format_offsets(offsets, limit: int = 12) -> str:
    """Short text for a set of 1-D offsets, e.g. ``"±4, ±5"`` or ``"±(1..9)"``.

    Symmetric sets are written with ``±``; runs of 3 or more consecutive
    offsets as ``a..b``; beyond ``limit`` items the list is cut with a count.

    Args:
        offsets: iterable of ints.
        limit: most items to print.

    Returns:
        str ("none" for an empty set).

    Example:
        >>> format_offsets([-5, -4, 4, 5])
        '±4, ±5'
    """
    values = sorted(set(int(o) for o in offsets))
    if not values:
        return "none"
    symmetric = 0 not in values and all(-v in values for v in values)
    shown = [v for v in values if v > 0] if symmetric else values
    runs = []
    for v in shown:
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    items = []
    for lo, hi in runs:
        if hi - lo >= 2:
            items.append(f"±({lo}..{hi})" if symmetric else f"{lo:+d}..{hi:+d}")
        else:
            items.extend(f"±{v}" if symmetric else (f"{v:+d}" if v else "0") for v in range(lo, hi + 1))
    if len(items) > limit:
        return ", ".join(items[:limit]) + f", ... ({len(values)} offsets in all)"
    return ", ".join(items)


def plot_coverage(result: ReceptiveField, path, title: Optional[str] = None) -> str:
    """Draw the 2-D coverage map (path counts) as a heatmap, holes in red.

    matplotlib is imported here only, through its Agg canvas (no display and
    no change to the global pyplot backend). The image is written to a
    temporary file in the same folder and renamed, so an interrupted run never
    leaves a half-written file.

    Args:
        result: a ReceptiveField.
        path: output file; the format follows its suffix (.png by default).
        title: optional title; a summary is used by default.

    Returns:
        the path written, as str.

    Raises:
        FileNotFoundError: the folder of ``path`` does not exist.
        ValueError: the suffix is not an image format matplotlib can write.

    Example:
        >>> plot_coverage(receptive_field([LayerSpec(3, dilation=2)]), "rf.png")  # doctest: +SKIP
        'rf.png'
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path!r}: folder {folder!r} does not exist.")
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.ticker import MaxNLocator
    import matplotlib

    if fmt not in FigureCanvasAgg.get_supported_filetypes():
        raise ValueError(
            f"cannot write a coverage plot as {fmt!r}; use a file name ending in .png, .svg or .pdf."
        )
    h, w = result.size
    cov = np.asarray(result.coverage, dtype=float)
    masked = np.ma.masked_equal(cov, 0)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#d62728")  # masked cells = holes

    side = min(12.0, max(4.0, 0.3 * max(h, w)))
    fig = Figure(figsize=(side + 1.5, side + 0.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    oy, ox = result.origin
    extent = (-ox - 0.5, w - ox - 0.5, h - oy - 0.5, -oy - 0.5)
    peak = float(cov.max())
    image = ax.imshow(masked, cmap=cmap, extent=extent, interpolation="nearest", vmin=1, vmax=max(peak, 2.0))
    colorbar = fig.colorbar(image, ax=ax, label="paths to the output unit")
    colorbar.locator = MaxNLocator(integer=True)
    colorbar.update_ticks()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.add_patch(Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="white", linewidth=2))
    if max(h, w) <= 25:
        for r in range(h):
            for c in range(w):
                if result.coverage[r, c]:
                    # dark text on the bright end of viridis, white elsewhere
                    color = "black" if cov[r, c] > 1 + 0.6 * (peak - 1) and peak > 1 else "white"
                    ax.text(c - ox, r - oy, str(result.coverage[r, c]), ha="center", va="center",
                            fontsize=7, color=color)
    ax.set_xlabel("column offset")
    ax.set_ylabel("row offset")
    if title is None:
        title = (
            f"receptive field {h}x{w}, stride {result.stride[0]}x{result.stride[1]}: "
            + ("gridding-free" if result.gridding_free else f"{result.holes} holes of {result.total}")
        )
    ax.set_title(title)
    fig.legend(
        handles=[
            Patch(facecolor="#d62728", label="hole (no path)"),
            Patch(facecolor="none", edgecolor="black", label="offset 0 (under the output unit)"),
        ],
        loc="lower center",
        ncol=2,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.06, 1, 1))

    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            fig.savefig(handle, format=fmt, dpi=100)
        # mkstemp creates 0600 files; give the image the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
