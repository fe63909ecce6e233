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


def test_static_explorable_has_a_frame_and_step_per_value():
    plot.use_book_renderer()
    fig = explore.static(line, [1, 2, 3], label="slope", default=2)
    assert [f.name for f in fig.frames] == ["1", "2", "3"]
    slider = fig.layout.sliders[0]
    assert slider.active == 1 and [s.label for s in slider.steps] == ["1", "2", "3"]
    assert fig.data[0].y == (0, 2)
    html = pio.renderers["dlbook"].to_mimebundle(fig.to_dict())["text/html"]
    assert "Plotly.addFrames" in html and "Plotly.animate" not in html  # opens on the default
    with pytest.raises(ValueError, match="not one of the values"):
        explore.static(line, [1, 2], label="slope", default=5)
    with pytest.raises(ValueError, match="same number of traces"):
        explore.static(lambda v: go.Figure([go.Scatter()] * v), [1, 2], label="n")


def test_live_explorable_draws_at_default_and_on_change():
    calls = []

    def draw(slope):
        calls.append(slope)
        return line(slope)

    ui = explore.live(draw, slope=widgets.IntSlider(value=2, min=0, max=5))
    assert calls == [2] and ui.kwargs_widgets[0].continuous_update is False
    ui.kwargs_widgets[0].value = 4
    assert calls == [2, 4]
    with pytest.raises(ValueError, match="at least one control"):
        explore.live(draw)


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

    fig = explore.static(draw, [1, 2, 3], label="v")
    assert fig.layout.margin.b == explore.SLIDER_ROOM
    assert fig.layout.height == 140 + explore.SLIDER_ROOM - 10  # the plot area keeps its size
