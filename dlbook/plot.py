"""Plotly figures the book draws again and again, and a renderer that survives the HTML build.

MyST-NB drops plotly's own mime type (``application/vnd.plotly.v1+json``), so a
figure rendered the default way vanishes from the built page. The ``dlbook``
renderer emits that mime type for JupyterLab and Notebook 7 *and* an HTML ``<div>``
for the book, whose Sphinx extension (:mod:`dlbook.sphinx`) serves plotly.js locally.
Colab renders only the HTML, so there the div loads plotly.js from its CDN.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import re
import sys
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import torch
from _plotly_utils.utils import convert_to_base64
from PIL import Image
from plotly.colors import sample_colorscale
from plotly.io.base_renderers import MimetypeRenderer
from plotly.subplots import make_subplots

TEMPLATE = "dlbook"
TRACES = ("scatter", "heatmap", "contour", "bar", "image", "histogram")  # what the book draws


def template(mode: str = "light") -> go.layout.Template:
    """The figures' template: plotly's white (or dark) look, without the defaults of the
    dozens of trace types the book never draws, which every figure would otherwise carry.
    The page switches figures to the dark one when the reader picks dark mode."""
    if mode not in ("light", "dark"):
        raise ValueError(f"mode is 'light' or 'dark', got {mode!r}.")
    base = pio.templates["plotly_white" if mode == "light" else "plotly_dark"]
    slim = go.layout.Template(layout=base.layout)
    for trace in TRACES:
        slim.data[trace] = base.data[trace]
    if mode == "dark":
        slim.layout.paper_bgcolor = "rgba(0,0,0,0)"  # the page's own dark background
    return slim


def in_colab() -> bool:
    """True inside Google Colab, whose output cells need plotly.js in the HTML itself."""
    return "google.colab" in sys.modules


ARRAYS = ("x", "y", "z", "customdata")  # trace properties that hold the figure's numbers


def compact(fig_dict: dict) -> dict:
    """The figure with its numeric arrays as float32 (or int32) numpy arrays, which plotly
    writes as base64 typed arrays: a fifth of the bytes of a list of full-precision
    decimals, and more precision than a screen can show."""

    def small(value):
        if isinstance(value, np.ndarray):
            array = value
        elif isinstance(value, dict) and "bdata" in value:  # plotly's own typed array
            array = _typed_array(value)
        elif isinstance(value, list | tuple) and len(value) >= 16:
            try:
                array = np.asarray(value)
            except ValueError:  # ragged
                return value
        else:
            return value
        if array.dtype.kind == "f":
            return array.astype(np.float32)
        if array.dtype.kind in "iu":
            wide = array.dtype.itemsize > 4 and np.abs(array).max(initial=0) < 2**31
            return array.astype(np.int32) if wide else array  # bytes stay bytes
        return value

    def traces(items):
        return [{k: small(v) if k in ARRAYS else v for k, v in t.items()} for t in items]

    out = dict(fig_dict, data=traces(fig_dict.get("data", [])))
    if fig_dict.get("frames"):
        out["frames"] = [dict(f, data=traces(f.get("data", []))) for f in fig_dict["frames"]]
    return out


def _typed_array(spec: dict) -> np.ndarray:
    """The numpy array behind plotly's ``{"dtype", "bdata", "shape"}`` form of one."""
    array = np.frombuffer(base64.b64decode(spec["bdata"]), dtype=spec["dtype"])
    shape = spec.get("shape")
    return array.reshape([int(n) for n in str(shape).split(",")]) if shape else array


def to_mimebundle(fig: go.Figure | dict) -> dict:
    """A figure as plotly JSON (JupyterLab, Notebook 7) plus an HTML div (the book, Colab)."""
    fig_dict = compact(fig.to_dict() if isinstance(fig, go.Figure) else fig)
    convert_to_base64(fig_dict)  # the numpy arrays become typed arrays, as plotly's own do
    html = pio.to_html(
        fig_dict,
        full_html=False,
        include_plotlyjs="cdn" if in_colab() else False,  # the book serves its own copy
        auto_play=False,  # explorables open on their default frame, not an animation
        validate=False,
        config={"displaylogo": False, "displayModeBar": False, "responsive": True},
    )
    spec = json.loads(pio.to_json(fig_dict, validate=False))
    return {
        "application/vnd.plotly.v1+json": spec,
        "text/html": html if in_colab() else when_plotly_is_loaded(html),
    }


FIGURE_SCRIPT = re.compile(r"<script>(\s*window\.PLOTLYENV=.*?)</script>", re.DOTALL)


def when_plotly_is_loaded(html: str) -> str:
    """The figure's script, made to wait for plotly.js if it has not loaded yet: the book
    loads plotly.js with ``defer``, so that the text is shown before the library arrives."""
    script, found = FIGURE_SCRIPT.subn(
        r"<script>(function () {function draw() {\1}"
        r" if (window.Plotly) draw();"
        r' else document.addEventListener("DOMContentLoaded", draw);})();</script>',
        html,
    )
    if found != 1:
        raise RuntimeError("plotly's figure HTML changed: dlbook.plot cannot find its script")
    return script


class BookRenderer(MimetypeRenderer):
    """plotly's renderer interface around :func:`to_mimebundle`."""

    def to_mimebundle(self, fig_dict):
        return to_mimebundle(fig_dict)


def use_book_renderer() -> None:
    """Make ``dlbook`` the default plotly renderer and :func:`template` the default look."""
    pio.renderers["dlbook"] = BookRenderer()
    pio.renderers.default = "dlbook"
    pio.templates[TEMPLATE] = template("light")
    pio.templates.default = TEMPLATE


def moving_average(values, window: int) -> np.ndarray:
    """The mean of the last ``window`` values at each point (of fewer at the start)."""
    if not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}.")
    values = np.asarray(_numpy(values), dtype=float)
    sums = np.cumsum(np.insert(values, 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return (sums[1:] - sums[np.arange(1, len(values) + 1) - counts]) / counts


def _numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def learning_curves(runs, metrics: Sequence[str] | None = None, title: str = "") -> go.Figure:
    """One panel per metric (losses together, then the rest), one line per run.

    ``runs`` is one :class:`dlbook.train.History` or a dict of them by run name.
    """
    runs = dict(runs) if isinstance(runs, Mapping) else {"": runs}
    keys = list(dict.fromkeys(k for h in runs.values() for k in h.keys() if k != "epoch"))
    metrics = list(metrics or keys)
    panels = [[m for m in metrics if m.endswith("loss")]] + [
        [m] for m in metrics if not m.endswith("loss")
    ]
    panels = [p for p in panels if p]
    epochs = max((len(h) for h in runs.values()), default=1)
    epoch_step = max(1, -(-epochs // 10))  # whole epochs only: no tick at 1.5
    titles = ["loss" if len(p) > 1 else p[0] for p in panels]  # the legend names the lines
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=titles)
    palette = template("light").layout.colorway
    for r, (name, history) in enumerate(runs.items()):
        for c, panel in enumerate(panels, start=1):
            for metric in panel:
                if metric not in history.keys():
                    continue
                dash = "dot" if metric.startswith("train") and len(panel) > 1 else "solid"
                fig.add_scatter(
                    x=history["epoch"],
                    y=history[metric],
                    row=1,
                    col=c,
                    mode="lines+markers",
                    name=f"{name} {metric}".strip(),
                    legendgroup=name or metric,
                    line={"color": palette[r % len(palette)] if name else None, "dash": dash},
                )
            fig.update_xaxes(title_text="epoch", dtick=epoch_step, row=1, col=c)
    fig.update_layout(title=title, height=360, template=template("light"))
    return fig


def png_source(pixels, colorscale: str | None = None) -> str:
    """Pixels as an embedded PNG for ``go.Image(source=...)``, a fraction of the bytes of
    the same pixels sent as numbers.

    ``pixels`` is ``(H, W, 3)`` RGB or ``(H, W)`` grey ``uint8``; with a plotly
    ``colorscale`` name, an ``(H, W)`` array holds levels 0..255 along that scale (one byte
    a pixel, exactly the heatmap's colours). Photos go through :func:`photo_source`.
    """
    array = np.asarray(pixels)
    if array.dtype != np.uint8 or not (array.ndim == 2 or array.ndim == 3 and array.shape[2] == 3):
        raise ValueError(
            f"png_source takes (H, W) or (H, W, 3) uint8 pixels, got {array.shape} "
            f"{array.dtype}; scale to 0..255 and use .astype(np.uint8)."
        )
    if colorscale is None:
        image = Image.fromarray(np.ascontiguousarray(array))
    elif array.ndim != 2:
        raise ValueError("a colorscale colours (H, W) levels; RGB pixels have their colours.")
    else:
        image = _coloured(array, _palette(colorscale))
    return _data_uri(image, "png", optimize=True)


def photo_source(rgb, max_side: int = 256, quality: int = 85) -> str:
    """An ``(H, W, 3)`` ``uint8`` photo as an embedded JPEG of at most ``max_side`` pixels a
    side: a photo's noise makes a PNG five times heavier, and JPEG loses nothing an eye sees
    at this size. Pixels that must stay exact (digits, weights) go through ``png_source``.
    """
    array = np.asarray(rgb)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(
            f"photo_source takes (H, W, 3) uint8 pixels, got {array.shape} {array.dtype}."
        )
    image = Image.fromarray(np.ascontiguousarray(array))
    image.thumbnail((max_side, max_side))
    return _data_uri(image, "jpeg", quality=quality)


def _data_uri(image: Image.Image, kind: str, **options) -> str:
    """An image encoded as ``kind`` (png, jpeg) in a ``data:`` URI, for ``go.Image(source=)``."""
    buffer = io.BytesIO()
    image.save(buffer, format=kind.upper(), **options)
    return f"data:image/{kind};base64," + base64.b64encode(buffer.getvalue()).decode()


@functools.cache
def _palette(colorscale: str) -> np.ndarray:
    """A plotly colour scale as 256 RGB byte triples."""
    colors = sample_colorscale(colorscale, np.linspace(0, 1, 256), colortype="tuple")
    return (np.asarray(colors) * 255).round().astype(np.uint8)


def _coloured(levels: np.ndarray, colours: np.ndarray) -> Image.Image:
    """Levels as a grey image where the scale is grey (within a level: no palette to
    send), else as a palette image holding just the colours used."""
    if np.abs(np.diff(colours.astype(int), axis=1)).max() <= 2:
        return Image.fromarray(colours[levels, 0])
    used, indices = np.unique(levels, return_inverse=True)
    image = Image.fromarray(indices.reshape(levels.shape).astype(np.uint8), "P")
    image.putpalette(colours[used].tobytes())
    return image


def levels(image, signed: bool = False) -> np.ndarray:
    """One grey image as levels 0..255, scaled as a plotly heatmap scales it: from its own
    minimum to its maximum, or (``signed``) symmetrically around zero."""
    image = np.asarray(image, dtype=float)
    if signed:
        unit = (image / (np.abs(image).max() or 1.0) + 1) / 2
    else:
        low, high = image.min(), image.max()
        unit = (image - low) / ((high - low) or 1.0)
    return (np.clip(unit, 0, 1) * 255).round().astype(np.uint8)


def image_grid(
    images,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    height_per_row: int = 110,
    signed: bool = False,
    title: str | None = None,
) -> go.Figure:
    """A grid of grayscale images (``(N, H, W)`` or ``(N, 1, H, W)``), each optionally
    titled, under an optional figure ``title`` (given here, it gets room of its own).

    Each image is scaled to its own range and sent as a PNG. ``signed=True`` shows signed
    values (weights, gradients) on the book's diverging scale, red positive and blue
    negative, centred on zero.
    """
    array = _numpy(images)
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 3:
        raise ValueError(f"image_grid takes (N, H, W) or (N, 1, H, W) images, got {array.shape}.")
    n = len(array)
    if titles is not None and len(titles) != n:
        raise ValueError(f"got {n} images but {len(titles)} titles; pass one title per image.")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    scale = "RdBu_r" if signed else "gray_r"
    fig = make_subplots(
        rows=nrows,
        cols=ncols,
        subplot_titles=list(titles) if titles else None,
        horizontal_spacing=0.01,
        vertical_spacing=0.3 / nrows if titles else 0.01,
    )
    for i, image in enumerate(array):
        fig.add_trace(
            go.Image(source=png_source(levels(image, signed), scale), hoverinfo="skip"),
            row=i // ncols + 1,
            col=i % ncols + 1,
        )
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, constrain="domain")
    fig.update_annotations(font_size=11)
    top = (25 if titles else 10) + (35 if title else 0)  # image titles sit above a row
    fig.update_layout(
        title=title,
        height=height_per_row * nrows + top + 10,
        margin={"l": 10, "r": 10, "t": top, "b": 10},
    )
    return fig


def tile(images, ncols: int = 8, gap: int = 2) -> np.ndarray:
    """Lay grayscale images in [0, 1] out in rows of ``ncols`` as one ``uint8`` picture.

    ``images`` is ``(N, H, W)`` or ``(N, 1, H, W)``; values are clipped to [0, 1] and
    stored as bytes (255 = ink), which keeps figures and slider frames light.
    """
    array = _numpy(images)
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 3 or len(array) == 0:
        raise ValueError(f"tile takes (N, H, W) or (N, 1, H, W) images, got {array.shape}.")
    n, h, w = array.shape
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    canvas = np.zeros((nrows * (h + gap) - gap, ncols * (w + gap) - gap), dtype=np.uint8)
    pixels = (np.clip(array, 0, 1) * 255).round().astype(np.uint8)
    for i, image in enumerate(pixels):
        r, c = divmod(i, ncols)
        canvas[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = image
    return canvas


def picture(canvas: np.ndarray) -> go.Image:
    """An image trace that shows a :func:`tile` picture as a PNG, ink in black."""
    return go.Image(source=png_source(canvas, "gray_r"), hoverinfo="skip")


def mosaic(images, ncols: int = 8, title: str | None = None, height: int = 330) -> go.Figure:
    """Many small grayscale images in [0, 1] as one light figure (see :func:`tile`)."""
    fig = go.Figure(picture(tile(images, ncols)))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, constrain="domain")
    fig.update_layout(title=title, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def confusion_matrix(
    y_true, y_pred, class_names: Sequence[str] | None = None, title: str = "Confusion matrix"
) -> go.Figure:
    """Counts of true class (rows) against predicted class (columns)."""
    t, p = _numpy(y_true).astype(int), _numpy(y_pred).astype(int)
    if t.shape != p.shape:
        raise ValueError(f"y_true {t.shape} and y_pred {p.shape} must have the same shape.")
    k = max(t.max(), p.max()) + 1 if class_names is None else len(class_names)
    if class_names is not None and max(t.max(), p.max()) >= k:
        raise ValueError(
            f"class_names has {k} names but the labels go up to {max(t.max(), p.max())}; "
            "give one name per class, in the order of the class ids."
        )
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (t, p), 1)
    names = [str(c) for c in (class_names or range(k))]
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=names,
            y=names,
            text=counts,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hovertemplate="true %{y}<br>predicted %{x}<br>%{z} examples<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title="predicted",
        yaxis_title="true",
        height=480,
        width=520,
        yaxis={"autorange": "reversed"},
    )
    return fig
