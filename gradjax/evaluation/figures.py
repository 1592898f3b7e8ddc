"""Matplotlib figures of the evaluation (Agg backend: files only, no display needed).

Each function writes one PNG and returns its path. Images are ``(N, H, W, C)`` in [0, 1].
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return path


def _show(ax, image: np.ndarray, cmap: str | None = None) -> None:
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
        cmap = cmap or "gray"
    ax.imshow(np.clip(image, 0, 1) if cmap != "magma" else image, cmap=cmap)
    ax.set_xticks([])
    ax.set_yticks([])


def line_plot(
    path: Path,
    x: np.ndarray | None,
    curves: dict[str, dict[str, np.ndarray]],
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    xscale: str = "linear",
    yscale: str = "linear",
) -> Path:
    """One line per entry ``{"mean": (K,), optional "low"/"high": (K,) band, optional "x":
    (K,) its own abscissae instead of the shared ``x``}``. ``yscale="symlog"``: linear within
    ±1, logarithmic beyond, so that a sign change near 0 shows beside curves in the hundreds."""
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    if len(curves) > 10:  # the default cycle repeats after ten colours
        ax.set_prop_cycle(color=plt.get_cmap("tab20").colors)
    for name, curve in curves.items():
        xs = curve.get("x", x)
        (line,) = ax.plot(xs, curve["mean"], marker="o", markersize=3, label=name)
        if "low" in curve:
            ax.fill_between(xs, curve["low"], curve["high"], color=line.get_color(), alpha=0.15)
    ax.set_xscale(xscale)
    if xscale == "log":  # plain numbers rather than powers of ten; the data's own if few
        ticks = np.unique(np.concatenate([np.asarray(c.get("x", x)) for c in curves.values()]))
        if len(ticks) <= 12:
            ax.set_xticks(ticks)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    if yscale == "symlog":
        ax.set_yscale("symlog", linthresh=1.0)
    else:
        ax.set_yscale(yscale)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def image_grid(path: Path, images: np.ndarray, columns: int, scale: int = 2) -> Path:
    """Images tiled into one mosaic PNG (``columns`` per row, 1-pixel gaps, each pixel drawn
    ``scale``×``scale``): pixel-exact and small on disk, unlike a matplotlib figure."""
    images = np.clip(np.asarray(images, np.float32), 0, 1)
    n, h, w, c = images.shape
    rows = -(-n // columns)
    mosaic = np.ones((rows * (h + 1) - 1, columns * (w + 1) - 1, c), np.float32)
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        mosaic[r * (h + 1) : r * (h + 1) + h, col * (w + 1) : col * (w + 1) + w] = image
    mosaic = np.repeat(np.repeat(mosaic, scale, axis=0), scale, axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    plt.imsave(path, mosaic[..., 0] if c == 1 else mosaic, cmap="gray", vmin=0, vmax=1)
    return path


def maps_beside_images(
    path: Path, images: np.ndarray, maps: dict[str, np.ndarray], title: str
) -> Path:
    """First row the images, then one row of ``(N, H, W)`` maps per entry of ``maps``."""
    n = len(images)
    fig, axes = plt.subplots(
        1 + len(maps), n, figsize=(n * 1.0, (1 + len(maps)) * 1.05), squeeze=False
    )
    for ax, image in zip(axes[0], images, strict=True):
        _show(ax, image)
    axes[0, 0].set_ylabel("input", fontsize=7)
    for row, (name, values) in zip(axes[1:], maps.items(), strict=True):
        for ax, value in zip(row, values, strict=True):
            _show(ax, value, cmap="magma")
        row[0].set_ylabel(name, fontsize=7)
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def interval_panels(
    path: Path,
    panels: dict[str, list[tuple[str, dict | None, dict | None]]],
    *,
    reference_label: str,
    columns: int = 3,
) -> Path:
    """Small multiples of intervals, one panel per entry of ``panels`` (``{title: rows}``), one
    row per ``(label, estimate, reference)``: each a ``{"value", "low", "high"}`` record or
    ``None``, the estimate drawn as a filled dot with its interval, the reference (labelled
    ``reference_label`` in the legend) as an open one just below it; a dashed line at 0. Each
    panel keeps its own x scale (the quantities differ in unit)."""
    if not panels:
        raise ValueError("no panels to draw")
    rows_of_panels = -(-len(panels) // columns)
    fig, axes = plt.subplots(
        rows_of_panels,
        columns,
        figsize=(4.2 * columns, rows_of_panels * (0.9 + 0.3 * max(map(len, panels.values())))),
        squeeze=False,
    )
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    # (colour, marker face) of the estimate and of the reference, in the plot and the legend.
    styles = {"estimate (95% CI)": ("C0", "C0"), reference_label: ("0.45", "white")}
    for ax, (title, rows) in zip(axes.flat, panels.items(), strict=False):
        for y, (_, estimate, reference) in enumerate(rows):
            placed = ((estimate, 0.0), (reference, 0.25))
            for (record, offset), (color, face) in zip(placed, styles.values(), strict=True):
                if record is None:
                    continue
                error = [[record["value"] - record["low"]], [record["high"] - record["value"]]]
                ax.errorbar(
                    record["value"],
                    y + offset,
                    xerr=error,
                    fmt="o",
                    color=color,
                    markerfacecolor=face,
                    markersize=4,
                    capsize=2,
                )
        ax.axvline(0, color="0.3", linestyle="--", linewidth=0.8)
        ax.set_yticks(range(len(rows)), [label for label, _, _ in rows], fontsize=7)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(title, fontsize=7.5)
        ax.grid(axis="x", alpha=0.3)
    handles = [
        plt.Line2D([], [], marker="o", color=color, markerfacecolor=face, linestyle="", label=label)
        for label, (color, face) in styles.items()
    ]
    fig.legend(handles=handles, loc="upper center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return _save(fig, path)


__all__ = ["image_grid", "interval_panels", "line_plot", "maps_beside_images"]
