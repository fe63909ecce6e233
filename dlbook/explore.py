"""Explorables: one knob, one call, and a control that works wherever the reader is.

``explorable(draw, lr=[0.01, 0.1, 0.3])`` draws ``draw(lr=v)`` once for every value
(every combination, with several knobs) and returns an :class:`Explorable`. Displayed,
it offers two views of the same figures, and each client shows the one it can run:

- a Jupyter kernel (JupyterLab, Notebook 7, Colab, a JupyterHub): live ipywidgets
  sliders over the figure, redrawn when a slider is released, from the precomputed
  figures or, for a knob given a continuous ``live=`` widget, by calling ``draw``;
- the HTML book (no kernel): one plotly figure with the precomputed frames and a
  slider inside it. The book's build prefers this view (``nb_mime_priority_overrides``
  in ``_config.yml``), so no dead widget reaches the page.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.utils import PlotlyJSONEncoder

from dlbook.plot import compact, to_mimebundle

Draw = Callable[..., go.Figure]
SLIDER_ROOM = 110  # pixels below the plot for the slider and its current-value label
MAX_FRAMES = 120  # more precomputed frames than this make a heavy page: pass fewer values
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _label(value, fmt: str | Callable | None) -> str:
    if callable(fmt):
        return str(fmt(value))
    if fmt is not None:
        return fmt.format(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


class Explorable:
    """Precomputed figures over a grid of knob values, shown live or static (see module)."""

    def __init__(
        self,
        draw: Draw,
        knobs: Mapping[str, Sequence],
        default: Mapping[str, Any],
        labels: Mapping[str, str],
        fmt: Mapping[str, str | Callable],
        live: Mapping[str, Any],
    ):
        self.draw, self.knobs, self.default = draw, knobs, dict(default)
        self.labels, self.fmt, self.live = labels, fmt, live
        self.figures: dict[tuple, go.Figure] = {}
        for combo in itertools.product(*knobs.values()):
            self.figures[combo] = self._checked(draw(**dict(zip(knobs, combo, strict=True))))
        counts = {len(f.data) for f in self.figures.values()}
        if len(counts) != 1:
            raise ValueError(
                f"every frame must draw the same number of traces, got {sorted(counts)}; "
                "draw an empty trace (e.g. go.Scatter(x=[], y=[])) where one is missing."
            )
        self._ui = None

    @staticmethod
    def _checked(fig) -> go.Figure:
        if not isinstance(fig, go.Figure):
            raise TypeError(f"draw must return a plotly go.Figure, got {type(fig).__name__}.")
        return fig

    def frame_name(self, combo: tuple) -> str:
        if len(combo) == 1:
            return _label(combo[0], self.fmt.get(next(iter(self.knobs))))
        return ", ".join(
            f"{self.labels[k]} {_label(v, self.fmt.get(k))}"
            for k, v in zip(self.knobs, combo, strict=True)
        )

    def static(self) -> go.Figure:
        """One figure holding every precomputed frame, with a slider to move between them."""
        combos = list(self.figures)
        start = tuple(self.default[k] for k in self.knobs)
        names = [self.frame_name(c) for c in combos]
        base = self.figures[start]
        fig = go.Figure(data=base.data, layout=base.layout)
        _make_room_for_slider(fig)
        moving = _moving_traces(list(self.figures.values()))
        fig.frames = [
            go.Frame(
                data=[f.data[i] for i in moving], traces=moving, name=n, layout=_frame_layout(f)
            )
            for f, n in zip(self.figures.values(), names, strict=True)
        ]
        # Under the rail each step shows its values only ("0.8, 10"); the knobs' names are
        # said once, before the current value ("temperature, top-k = 0.8, 10").
        prefix = ", ".join(self.labels.values()) + " = "
        steps = [
            ", ".join(_label(v, self.fmt.get(k)) for k, v in zip(self.knobs, c, strict=True))
            for c in combos
        ]
        _make_room_for_labels(fig, steps[0], steps[-1])
        fig.update_layout(
            sliders=[
                {
                    "active": combos.index(start),
                    "currentvalue": {"prefix": prefix},
                    "pad": {"t": 40},
                    "steps": [
                        {
                            "label": step,
                            "method": "animate",
                            "args": [
                                [n],
                                {
                                    "mode": "immediate",
                                    "frame": {"duration": 0, "redraw": True},
                                    "transition": {"duration": 0},
                                },
                            ],
                        }
                        for n, step in zip(names, steps, strict=True)
                    ],
                }
            ]
        )
        return fig

    def figure(self, **values) -> go.Figure:
        """The figure at these knob values: precomputed if it is, drawn now if not."""
        key = tuple(values[k] for k in self.knobs)
        if key not in self.figures:
            self.figures[key] = self._checked(self.draw(**values))
        return self.figures[key]

    def widget(self):
        """The live view: one slider per knob above a plotly FigureWidget, updated in place."""
        import ipywidgets as widgets

        if self._ui is not None:
            return self._ui
        controls = {}
        for name, values in self.knobs.items():
            control = self.live.get(name)
            if control is None:
                options = [(_label(v, self.fmt.get(name)), v) for v in values]
                control = widgets.SelectionSlider(options=options, value=self.default[name])
            control.description = self.labels[name]
            control.continuous_update = False
            control.style = {"description_width": "initial"}
            controls[name] = control
        output = widgets.Output()  # prints and progress bars of a draw that trains show here
        start = self.figure(**{name: control.value for name, control in controls.items()})
        view = go.FigureWidget(start)

        def redraw(change=None):
            output.clear_output()
            with output:
                fig = self.figure(**{name: control.value for name, control in controls.items()})
            _show(view, fig)

        for control in controls.values():
            control.observe(redraw, names="value")
        self._ui = widgets.VBox([*controls.values(), view, output])
        return self._ui

    def _repr_mimebundle_(self, include=None, exclude=None):
        fig = self.static()
        bundle = to_mimebundle(fig)
        bundle["text/plain"] = (
            f"<explorable over {', '.join(self.knobs)}: {len(self.figures)} frames>"
        )
        view = self.widget()._repr_mimebundle_()
        return {**bundle, WIDGET_VIEW: view[WIDGET_VIEW]}


def _show(view: go.FigureWidget, fig: go.Figure) -> None:
    """Make the live figure show ``fig``: in place when the traces keep their types."""
    if [t.type for t in view.data] == [t.type for t in fig.data]:
        with view.batch_update():
            for shown, new in zip(view.data, fig.data, strict=True):
                shown.update(new.to_plotly_json(), overwrite=True)
            view.layout.update(fig.layout.to_plotly_json(), overwrite=True)
    else:
        view.data = ()
        view.add_traces(list(fig.data))
        view.layout = fig.layout


def _moving_traces(figures: list[go.Figure]) -> list[int]:
    """The indices of the traces that differ between frames: only those travel in the
    frames (a loss surface behind a moving path is sent once, not once per frame)."""
    traces = [  # compared as sent: float32 (a surface recomputed per frame differs below)
        [json.dumps(t, cls=PlotlyJSONEncoder, sort_keys=True) for t in compact(f.to_dict())["data"]]
        for f in figures
    ]
    return [i for i in range(len(traces[0])) if len({frame[i] for frame in traces}) > 1]


def _frame_layout(fig: go.Figure) -> dict:
    """What a frame may change besides its data: the title and every axis's title and range."""
    layout = fig.layout.to_plotly_json()
    keep = {"title": layout.get("title", {})}
    for key, value in layout.items():
        if key.startswith(("xaxis", "yaxis")):
            keep[key] = {k: v for k, v in value.items() if k in ("title", "range")}
    return keep


def _make_room_for_slider(fig: go.Figure) -> None:
    """Grow the bottom margin (and a fixed height with it) so the slider lies inside the figure."""
    bottom = fig.layout.margin.b if fig.layout.margin.b is not None else 80  # plotly's default
    extra = max(0, SLIDER_ROOM - bottom)
    fig.update_layout(margin_b=bottom + extra)
    if fig.layout.height is not None:
        fig.update_layout(height=fig.layout.height + extra)


def _make_room_for_labels(fig: go.Figure, first: str, last: str) -> None:
    """Widen the side margins so that the labels at the two ends of the slider, centred
    on the rail's ends, are not cut off by the figure's edges."""
    half_width = {"l": 4 * len(first), "r": 4 * len(last)}  # about 8 px a character
    for side, need in half_width.items():
        now = fig.layout.margin[side]
        if (80 if now is None else now) < need:  # 80: plotly's default
            fig.update_layout(margin={side: need})


def explorable(
    draw: Draw,
    *,
    default: Mapping[str, Any] | Any = None,
    labels: Mapping[str, str] | None = None,
    fmt: Mapping[str, str | Callable] | str | None = None,
    live: Mapping[str, Any] | None = None,
    **knobs: Sequence,
) -> Explorable:
    """One explorable over ``draw``'s keyword arguments, live in a kernel, static in the book.

    ``knobs`` name each argument and the values to precompute:
    ``explorable(draw_lr, lr=[0.01, 0.1, 0.3], default=0.1, labels={"lr": "learning rate"})``.
    With several knobs every combination is drawn. ``default`` is the value (or a dict of
    values) shown first; ``live`` gives a knob a continuous ipywidgets slider instead of
    the precomputed values, for a ``draw`` cheap enough to call on every move.
    """
    if not knobs:
        raise ValueError("explorable needs at least one knob, e.g. explorable(draw, lr=[0.1, 1]).")
    knobs = {name: list(values) for name, values in knobs.items()}
    empty = [name for name, values in knobs.items() if not values]
    if empty:
        raise ValueError(f"knob {empty[0]!r} has no values; give at least one to precompute.")
    frames = 1
    for values in knobs.values():
        frames *= len(values)
    if frames > MAX_FRAMES:
        raise ValueError(
            f"{frames} combinations of {', '.join(knobs)} is more than {MAX_FRAMES} frames; "
            "precompute fewer values (a live= widget can still offer every value in a kernel)."
        )
    if not isinstance(default, Mapping):
        if len(knobs) > 1 and default is not None:
            raise ValueError(f"with several knobs, default must be a dict over {list(knobs)}.")
        default = {} if default is None else {next(iter(knobs)): default}
    unknown = set(default) - set(knobs) or set(labels or {}) - set(knobs)
    unknown = unknown or set(live or {}) - set(knobs)
    if unknown:
        raise ValueError(f"{sorted(unknown)} are not knobs of this explorable: {list(knobs)}.")
    chosen = {}
    for name, values in knobs.items():
        value = default.get(name, values[len(values) // 2])
        if value not in values:
            raise ValueError(f"default {name}={value!r} is not one of its values {values}.")
        chosen[name] = value
    if isinstance(fmt, str) or callable(fmt):
        fmt = dict.fromkeys(knobs, fmt)
    labels = {name: (labels or {}).get(name, name) for name in knobs}
    return Explorable(draw, knobs, chosen, labels, dict(fmt or {}), dict(live or {}))
