import base64
import io

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
import torch
from PIL import Image

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
    assert [a.text for a in fig.layout.annotations] == ["loss", "val_accuracy"]  # short: phones


def png_pixels(source: str) -> np.ndarray:
    """The RGB pixels of a ``data:image/png;base64,...`` source."""
    assert source.startswith("data:image/png;base64,")
    png = base64.b64decode(source.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_image_grid_sends_each_image_as_a_png_on_the_heatmaps_scale():
    images = torch.zeros(5, 1, 28, 28)
    images[:, :, :, 14:] = 0.5  # right half ink: the image's own maximum, so black
    fig = plot.image_grid(images, titles=list("abcde"), ncols=3, title="five")
    assert [t.type for t in fig.data] == ["image"] * 5 and fig.layout.title.text == "five"
    pixels = png_pixels(fig.data[0].source)
    assert pixels.shape == (28, 28, 3)
    assert pixels[0, 0].min() >= 253 and pixels[0, 27].max() < 10  # gray_r: ink black
    assert fig.layout.margin.t > 25 + 30  # room for the title above the image titles


def test_signed_image_grid_is_red_positive_blue_negative_around_zero():
    weights = torch.tensor([[[-2.0, 0.0, 1.0]]])
    blue, white, red = png_pixels(plot.image_grid(weights, signed=True).data[0].source)[0]
    assert np.abs(white.astype(int) - 247).max() <= 2  # RdBu's middle, near grey: zero
    assert blue[2] > blue[0] + 50 and red[0] > red[2] + 50
    assert blue.tolist() == [5, 48, 97]  # -2 is the largest magnitude: the darkest blue


def test_png_source_is_lossless_and_far_lighter_than_numbers():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    assert (png_pixels(plot.png_source(rgb)) == rgb).all()
    digit = (torch.rand(28, 28) > 0.8).numpy().astype(np.uint8) * 255
    as_numbers = plot.to_mimebundle(go.Figure(go.Heatmap(z=digit.astype(np.float32))))
    as_png = plot.to_mimebundle(go.Figure(plot.picture(digit)))
    assert len(as_png["text/html"]) < len(as_numbers["text/html"])
    assert len(plot.png_source(digit, "gray_r")) < digit.size  # under one byte a pixel


def test_photo_source_is_a_small_jpeg_of_the_photo():
    from skimage import data as photos

    cat = photos.chelsea()  # 300 x 451
    source = plot.photo_source(cat[:, ::-1])  # a mirror view: not contiguous
    assert source.startswith("data:image/jpeg;base64,")
    small = np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))))
    assert small.shape == (170, 256, 3)  # the longer side 256, the aspect ratio kept
    assert len(source) < len(plot.png_source(np.asarray(Image.fromarray(cat).resize((256, 170)))))
    with pytest.raises(ValueError, match="photo_source takes"):
        plot.photo_source(cat[..., 0])


def test_image_grid_and_its_errors():
    with pytest.raises(ValueError, match="one title per image"):
        plot.image_grid(torch.rand(2, 28, 28), titles=["a"])
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        plot.image_grid(torch.rand(28, 28))
    with pytest.raises(ValueError, match="uint8"):
        plot.png_source(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="RGB pixels have their colours"):
        plot.png_source(np.zeros((4, 4, 3), dtype=np.uint8), "gray_r")


def test_figures_send_float64_arrays_as_float32():
    fig = go.Figure(go.Contour(z=np.linspace(0, 1, 400).reshape(20, 20)))
    z = plot.to_mimebundle(fig)["application/vnd.plotly.v1+json"]["data"][0]["z"]
    assert z["dtype"] == "f4" and len(base64.b64decode(z["bdata"])) == 400 * 4


def test_figure_scripts_wait_for_a_deferred_plotly_js():
    html = plot.to_mimebundle(go.Figure(go.Scatter(y=[1, 2])))["text/html"]
    assert "if (window.Plotly) draw();" in html and "DOMContentLoaded" in html
    assert html.count("Plotly.newPlot") == 1


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
    slider = fig.layout.sliders[0]
    assert slider.active == 3 and fig.data[0].y == (0, 20)
    assert slider.currentvalue.prefix == "a, b = " and slider.steps[3].label == "2, 10"


def test_the_slider_labels_at_the_ends_fit_inside_the_figure():
    def draw(setting):
        return line(1).update_layout(margin={"l": 10, "r": 10})

    settings = ["temperature 0.3, top-k 3", "temperature 1.5, top-k all"]
    fig = explore.explorable(draw, setting=settings).static()
    assert fig.layout.margin.l >= 4 * len(settings[0])
    assert fig.layout.margin.r >= 4 * len(settings[1])


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


def test_mosaic_is_one_png():
    fig = plot.mosaic(torch.rand(10, 28, 28), ncols=5, title="ten")
    assert len(fig.data) == 1 and fig.data[0].type == "image"
    assert png_pixels(fig.data[0].source).shape == (2 * 30 - 2, 5 * 30 - 2, 3)
    assert fig.layout.title.text == "ten"


def test_frames_carry_only_the_traces_that_move():
    surface = go.Heatmap(z=np.arange(12.0).reshape(3, 4))

    def draw(lr):
        return go.Figure([surface, go.Scatter(x=[0, lr], y=[0, lr])])

    fig = explore.explorable(draw, lr=[0.1, 0.2, 0.3]).static()
    assert [list(f.traces) for f in fig.frames] == [[1], [1], [1]]
    assert [f.data[0].x for f in fig.frames] == [(0, 0.1), (0, 0.2), (0, 0.3)]
    assert fig.data[0].type == "heatmap"  # the surface is drawn once, from the figure


def test_a_trace_that_differs_below_float32_precision_does_not_move():
    def draw(lr):
        surface = np.arange(1.0, 13.0).reshape(3, 4) + lr * 1e-12  # recomputed: float64 noise
        return go.Figure([go.Heatmap(z=surface), go.Scatter(x=[0, lr], y=[0, lr])])

    fig = explore.explorable(draw, lr=[0.1, 0.2]).static()
    assert [list(f.traces) for f in fig.frames] == [[1], [1]]


def test_static_keeps_the_slider_inside_a_short_figure():
    def draw(v):
        fig = go.Figure(go.Scatter(y=[v, v]))
        fig.update_layout(height=140, margin={"b": 10})
        return fig

    fig = explore.explorable(draw, v=[1, 2, 3]).static()
    assert fig.layout.margin.b == explore.SLIDER_ROOM
    assert fig.layout.height == 140 + explore.SLIDER_ROOM - 10  # the plot area keeps its size
