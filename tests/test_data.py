"""dlbook.data: datasets as tensors and text, on tiny datasets the tests write themselves
(tests/fake_data.py), plus one check of the real files when they are cached."""

import pytest
import torch

from dlbook import data, datasets
from tests import fake_data


@pytest.fixture
def tiny(tmp_path, monkeypatch) -> fake_data.FakeData:
    return fake_data.install(monkeypatch, tmp_path / "cache")


def test_load_fetches_verifies_and_returns_tensors(tiny, tmp_path):
    x, y = data.load("mnist", train=False, device="cpu")
    assert x.shape == (4, 1, 28, 28) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() == 1.0
    assert y.dtype == torch.int64 and y.tolist() == tiny.labels[("mnist", "t10k")]
    assert x[0, 0, 2, 4:24].eq(1).all()  # label 0's bar, in row 2
    xt, yt = data.load("fashion-mnist", device="cpu")
    assert len(xt) == 6 and yt.tolist() == tiny.labels[("fashion-mnist", "train")]
    assert fake_data.leftovers(tmp_path) == []


def test_each_load_returns_fresh_tensors(tiny):
    x, y = data.load("mnist", device="cpu")
    x[0], y[0] = 7, 99  # a chapter adding label noise in place...
    x2, y2 = data.load("mnist", device="cpu")
    assert x2.max() <= 1.0 and y2[0] == tiny.labels[("mnist", "train")][0]  # ...changes no other


def test_text_and_the_kind_of_each_dataset(tiny):
    assert data.text() == fake_data.TEXT
    with pytest.raises(ValueError, match=r"use dlbook\.data\.text\('tinyshakespeare'\)"):
        data.load("tinyshakespeare")
    with pytest.raises(ValueError, match=r"use dlbook\.data\.load\('mnist'\)"):
        data.text("mnist")
    with pytest.raises(TypeError, match="train must be True or False"):
        data.load("mnist", train="test")


def test_load_offline_without_cache_names_the_fix(tmp_path, monkeypatch):
    fake_data.install(monkeypatch, tmp_path)
    fake_data.offline(monkeypatch)
    with pytest.raises(data.DataUnavailableError, match="python -m dlbook fetch mnist"):
        data.load("mnist")
    assert list(tmp_path.rglob("*ubyte*")) == []


@fake_data.needs_real_data("mnist", "fashion-mnist", "tinyshakespeare")
def test_the_real_datasets_load():
    x, y = data.load("mnist", train=False, device="cpu")
    assert x.shape == (10_000, 1, 28, 28) and set(y.unique().tolist()) == set(range(10))
    assert data.load("fashion-mnist", device="cpu")[0].shape == (60_000, 1, 28, 28)
    assert len(data.FASHION_CLASSES) == 10
    text = data.text("tinyshakespeare")
    assert len(text) == 1_115_394 and text.startswith("First Citizen")
    assert datasets.status("mnist") == "verified"


def test_batches_cover_every_example_once_per_pass():
    x, y = torch.arange(10).float(), torch.arange(10)
    batches = data.Batches(
        x, y, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    assert len(batches) == 3
    seen = torch.cat([yb for _, yb in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    assert all(torch.equal(xb.long(), yb) for xb, yb in batches)
    assert len(data.Batches(x, batch_size=4, drop_last=True)) == 2


def test_batches_match_a_dataloader_over_the_same_order():
    x, y = torch.randn(10, 3), torch.arange(10)
    ours = [yb.tolist() for _, yb in data.Batches(x, y, batch_size=4)]
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
    assert ours == [yb.tolist() for _, yb in loader]
