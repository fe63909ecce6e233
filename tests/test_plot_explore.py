import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
import torch

from dlbook import explore, plot, train
from dlbook.sphinx import PlotlyJsonMime


def line(slope):
    return go.Figure(go.Scatter(x=[0, 1], y=[0, slope]), layout={"title": f"slope {slope}"})


def test_book_renderer_emits_html_that_myst_nb_keeps():
    plot.use_book_renderer()
    bundle = pio.renderers["dlbook"].to_mimebundle(line(2).to_dict())
    assert set(bundle) == {"application/vnd.plotly.v1+json", "text/html"}
    assert "Plotly.newPlot" in bundle["text/html"]
    assert len(bundle["text/html"]) < 20_000  # plotly.js itself is served by the book, not inlined
    assert (
        PlotlyJsonMime.handle_mime(None, type("M", (), {"mime_type": "text/html"}), False) is None
    )


def test_learning_curves_draw_one_line_per_run_and_metric():
    h = train.History(
        [
            {"epoch": 1, "train_loss": 1.0, "val_loss": 1.1, "val_accuracy": 0.5},
            {"epoch": 2, "train_loss": 0.5, "val_loss": 0.7, "val_accuracy": 0.8},
        ]
    )
    fig = plot.learning_curves({"a": h, "b": h})
    assert len(fig.data) == 6 and fig.data[0].y == (1.0, 0.5)


def test_image_grid_and_its_errors():
    fig = plot.image_grid(torch.rand(5, 1, 28, 28), titles=list("abcde"), ncols=3)
    assert len(fig.data) == 5
    with pytest.raises(ValueError, match="one title per image"):
        plot.image_grid(torch.rand(2, 28, 28), titles=["a"])
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        plot.image_grid(torch.rand(28, 28))


def test_confusion_matrix_counts():
    fig = plot.confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2], class_names=["a", "b", "c"])
    assert fig.data[0].z.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]


def test_static_view_has_a_frame_and_step_per_value():
    plot.use_book_renderer()
    fig = explore.explorable(line, slope=[1, 2, 3], default=2).static()
    assert [f.name for f in fig.frames] == ["1", "2", "3"]
    slider = fig.layout.sliders[0]
    assert slider.active == 1 and [s.label for s in slider.steps] == ["1", "2", "3"]
    assert slider.currentvalue.prefix == "slope = " and fig.data[0].y == (0, 2)
    html = plot.to_mimebundle(fig)["text/html"]
    assert "Plotly.addFrames" in html and "Plotly.animate" not in html  # opens on the default


def test_several_knobs_make_one_frame_per_combination():
    fig = explore.explorable(
        lambda a, b: line(a * b), a=[1, 2], b=[10, 20, 30], default={"a": 2, "b": 10}
    ).static()
    names = [f.name for f in fig.frames]
    assert len(names) == 6 and names[3] == "a 2, b 10"
    assert fig.layout.sliders[0].active == 3 and fig.data[0].y == (0, 20)


def test_frames_carry_their_axis_titles():
    def draw(d):
        return line(d).update_yaxes(title_text=f"PE(p, {d})")

    fig = explore.explorable(draw, d=[0, 8]).static()
    assert [f.layout.yaxis.title.text for f in fig.frames] == ["PE(p, 0)", "PE(p, 8)"]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({}, ValueError, "at least one knob"),
        ({"slope": []}, ValueError, "has no values"),
        ({"slope": [1, 2], "default": 5}, ValueError, "not one of its values"),
        ({"slope": [1], "labels": {"lr": "x"}}, ValueError, "not knobs of this explorable"),
        ({"slope": list(range(200))}, ValueError, "more than 120 frames"),
        ({"slope": [1], "n": [1], "default": 1}, ValueError, "default must be a dict"),
    ],
)
def test_explorable_rejects_bad_knobs(kwargs, error, match):
    with pytest.raises(error, match=match):
        explore.explorable(lambda **kw: line(1), **kwargs)


def test_explorable_rejects_draws_that_do_not_fit():
    with pytest.raises(ValueError, match="same number of traces"):
        explore.explorable(lambda n: go.Figure([go.Scatter()] * n), n=[1, 2])
    with pytest.raises(TypeError, match="must return a plotly go.Figure"):
        explore.explorable(lambda n: None, n=[1])


def test_live_view_draws_at_default_and_redraws_on_release():
    calls = []

    def draw(slope):
        calls.append(slope)
        return line(slope)

    e = explore.explorable(draw, slope=[1, 2, 3], live={"slope": widgets.IntSlider(value=2)})
    assert calls == [1, 2, 3]  # the precomputed frames
    slider, figure, _ = e.widget().children
    assert slider.continuous_update is False
    assert figure.data[0].y == (0, 2) and figure.layout.title.text == "slope 2"
    slider.value = 3  # precomputed: from the cache
    assert calls == [1, 2, 3] and figure.data[0].y == (0, 3)
    slider.value = 5  # not precomputed: drawn now
    assert calls == [1, 2, 3, 5]
    assert figure.data[0].y == (0, 5) and figure.layout.title.text == "slope 5"


def test_live_view_rebuilds_when_the_traces_change_kind():
    def draw(kind):
        return go.Figure(go.Bar(y=[1, 2]) if kind == "bar" else go.Scatter(y=[1, 2]))

    e = explore.explorable(draw, kind=["bar", "line"], default="bar")
    slider, figure, _ = e.widget().children
    slider.value = "line"
    assert [t.type for t in figure.data] == ["scatter"]


def test_display_offers_the_live_widget_and_the_static_figure():
    plot.use_book_renderer()
    bundle = explore.explorable(line, slope=[1, 2])._repr_mimebundle_()
    assert set(bundle) == {
        "application/vnd.jupyter.widget-view+json",
        "application/vnd.plotly.v1+json",
        "text/html",
        "text/plain",
    }
    assert "Plotly.addFrames" in bundle["text/html"]


def test_tile_lays_images_out_as_bytes():
    images = torch.zeros(5, 1, 4, 3)
    images[1] = 1.0  # the second image is all ink
    canvas = plot.tile(images, ncols=2, gap=1)
    assert canvas.dtype == np.uint8 and canvas.shape == (3 * 5 - 1, 2 * 4 - 1)
    assert canvas[0:4, 4:7].min() == 255 and canvas[0:4, 0:3].max() == 0
    assert canvas[0:4, 3].max() == 0  # the gap stays blank


def test_tile_rejects_colour_images():
    with pytest.raises(ValueError, match="tile takes"):
        plot.tile(torch.zeros(2, 3, 4, 4))


def test_mosaic_is_one_heatmap_of_bytes():
    fig = plot.mosaic(torch.rand(10, 28, 28), ncols=5, title="ten")
    assert len(fig.data) == 1 and fig.data[0].type == "heatmap"
    assert np.asarray(fig.data[0].z).dtype == np.uint8
    assert fig.layout.title.text == "ten"


def test_static_keeps_the_slider_inside_a_short_figure():
    def draw(v):
        fig = go.Figure(go.Scatter(y=[v, v]))
        fig.update_layout(height=140, margin={"b": 10})
        return fig

    fig = explore.explorable(draw, v=[1, 2, 3]).static()
    assert fig.layout.margin.b == explore.SLIDER_ROOM
    assert fig.layout.height == 140 + explore.SLIDER_ROOM - 10  # the plot area keeps its size
