"""Explorables: the same knob as a live ipywidgets slider and as a static plotly slider.

Both are built from one ``draw(value) -> go.Figure`` function:

- :func:`live` redraws it on every slider move in a running kernel;
- :func:`static` calls it once per precomputed value and packs the results into
  one figure with a slider, which works in the HTML book with no kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import plotly.graph_objects as go

Draw = Callable[..., go.Figure]
SLIDER_ROOM = 110  # pixels below the plot for the slider and its current-value label


def static(draw: Draw, values: Sequence, label: str, default=None, fmt: str = "{}") -> go.Figure:
    """A figure with one frame per value of the knob and a slider to move between them.

    Every ``draw(v)`` must return the same number and kinds of traces; a frame
    keeps each figure's data and title.
    """
    values = list(values)
    if not values:
        raise ValueError("static needs at least one value to precompute.")
    default = values[len(values) // 2] if default is None else default
    if default not in values:
        raise ValueError(f"default {default!r} is not one of the values {values}.")
    figures = [draw(v) for v in values]
    if len({len(f.data) for f in figures}) != 1:
        raise ValueError("every frame must draw the same number of traces.")
    names = [fmt.format(v) for v in values]
    base = figures[values.index(default)]
    fig = go.Figure(data=base.data, layout=base.layout)
    _make_room_for_slider(fig)
    fig.frames = [
        go.Frame(data=f.data, name=n, layout={"title": f.layout.title})
        for f, n in zip(figures, names, strict=True)
    ]
    fig.update_layout(
        sliders=[
            {
                "active": values.index(default),
                "currentvalue": {"prefix": f"{label} = "},
                "pad": {"t": 40},
                "steps": [
                    {
                        "label": n,
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
                    for n in names
                ],
            }
        ]
    )
    return fig


def _make_room_for_slider(fig: go.Figure) -> None:
    """Grow the bottom margin (and a fixed height with it) so the slider lies inside the figure."""
    bottom = fig.layout.margin.b if fig.layout.margin.b is not None else 80  # plotly's default
    extra = max(0, SLIDER_ROOM - bottom)
    fig.update_layout(margin_b=bottom + extra)
    if fig.layout.height is not None:
        fig.update_layout(height=fig.layout.height + extra)


def live(draw: Draw, **controls):
    """Live sliders over ``draw``'s keyword arguments, redrawn on release.

    ``controls`` take ipywidgets widgets or ``interact``'s abbreviations:
    ``live(draw, lr=widgets.FloatLogSlider(value=0.1, min=-3, max=0), depth=(1, 8))``.
    The figure for the initial values is drawn at once.
    """
    import ipywidgets as widgets

    if not controls:
        raise ValueError("live needs at least one control, e.g. live(draw, lr=(0.01, 1.0)).")
    ui = widgets.interactive(draw, **controls)  # draws once at the initial values
    for control in ui.kwargs_widgets:
        if hasattr(control, "continuous_update"):
            control.continuous_update = False
    return ui
