import gzip
import io
import shutil
import urllib.request
from pathlib import Path

import pytest
import torch

from dlbook import data, datasets
from dlbook.files import sha256 as data_sha256

SHARED = datasets.data_root()  # the offline copies (conftest points DLBOOK_DATA at them)


def offline(monkeypatch):
    def refuse(url, timeout=None):
        raise urllib.request.URLError("no network in this test")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def serve(monkeypatch, payloads: dict[str, bytes]):
    """Answer urlopen from a dict of url -> bytes, like a tiny offline mirror."""

    def fake(url, timeout=None):
        if url not in payloads:
            raise urllib.request.URLError(f"not found: {url}")
        return io.BytesIO(payloads[url])

    monkeypatch.setattr(urllib.request, "urlopen", fake)


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".part")]


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(KeyError, match="choose one of: mnist, fashion-mnist, tinyshakespeare"):
        datasets.dataset("cifar10")
    assert datasets.dataset("Fashion_MNIST").name == "fashion-mnist"


def test_mnist_loads_as_tensors():
    x, y = data.load("mnist", train=False, device="cpu")
    assert x.shape == (10_000, 1, 28, 28) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert y.dtype == torch.int64 and set(y.unique().tolist()) == set(range(10))
    x[0] = 7  # callers get fresh tensors: the in-memory cache stays clean
    assert data.load("mnist", train=False, device="cpu")[0].max() <= 1.0


def test_fashion_and_text_load():
    x, y = data.load("fashion-mnist", train=True, device="cpu")
    assert x.shape == (60_000, 1, 28, 28) and len(data.FASHION_CLASSES) == 10
    text = data.text("tinyshakespeare")
    assert len(text) == 1_115_394 and text.startswith("First Citizen")
    with pytest.raises(ValueError, match="use dlbook.data.text"):
        data.load("tinyshakespeare")


def test_missing_data_offline_gives_one_clear_error_and_no_partial_file(data_dir, monkeypatch):
    offline(monkeypatch)
    with pytest.raises(datasets.DataUnavailableError) as error:
        datasets.ensure("mnist")
    message = str(error.value)
    assert "'mnist'" in message and str(data_dir) in message
    assert "python -m dlbook fetch mnist" in message
    assert leftovers(data_dir) == [] and not any(data_dir.rglob("*ubyte*"))


def test_download_is_verified_and_atomic(data_dir, monkeypatch):
    good = (SHARED / "tinyshakespeare/input.txt").read_bytes()
    serve(monkeypatch, {datasets.SHAKESPEARE_URL: good[:-1] + b"!"})  # one byte wrong
    with pytest.raises(datasets.DataUnavailableError, match="expected"):
        datasets.ensure("tinyshakespeare")
    assert list(data_dir.rglob("input.txt")) == [] and leftovers(data_dir) == []

    serve(monkeypatch, {datasets.SHAKESPEARE_URL: good})
    datasets.ensure("tinyshakespeare")
    assert (data_dir / "tinyshakespeare/input.txt").read_bytes() == good


def test_gz_downloads_are_extracted_and_verified(data_dir, monkeypatch):
    ds = datasets.dataset("mnist")
    payloads = {f.urls[0]: (SHARED / (f.path + ".gz")).read_bytes() for f in ds.files}
    serve(monkeypatch, payloads)
    datasets.ensure("mnist")
    for f in ds.files:
        assert data_sha256(data_dir / f.path) == f.sha256
    assert datasets.status("mnist") == "verified"


def test_corrupt_cache_file_is_named_with_the_fix(data_dir):
    target = data_dir / "tinyshakespeare/input.txt"
    target.parent.mkdir(parents=True)
    target.write_text("not shakespeare")
    with pytest.raises(datasets.CorruptFileError) as error:
        datasets.ensure("tinyshakespeare")
    assert str(target) in str(error.value) and "python -m dlbook fetch tinyshakespeare" in str(
        error.value
    )
    assert datasets.status("tinyshakespeare") == f"corrupt: {target}"


def test_gzip_only_cache_is_extracted_without_network(data_dir, monkeypatch):
    offline(monkeypatch)
    for f in datasets.dataset("fashion-mnist").files:
        (data_dir / f.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHARED / (f.path + ".gz"), data_dir / (f.path + ".gz"))
    before = sorted(data_dir.rglob("*"))
    assert datasets.status("fashion-mnist") == "compressed"  # status only reads...
    assert sorted(data_dir.rglob("*")) == before
    datasets.ensure("fashion-mnist")  # ...ensure extracts, without the network
    assert datasets.status("fashion-mnist") == "verified"
    with gzip.open(data_dir / "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz") as f:
        assert f.read() == (data_dir / "FashionMNIST/raw/t10k-labels-idx1-ubyte").read_bytes()


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


def test_batches_reject_bad_input():
    with pytest.raises(ValueError, match="same length"):
        data.Batches(torch.zeros(5, 2), torch.zeros(4), batch_size=2)
    with pytest.raises(ValueError, match="positive integer"):
        data.Batches(torch.zeros(5), batch_size=0)


def test_char_vocab_round_trip():
    vocab = data.CharVocab("hello world")
    assert vocab.decode(vocab.encode("lower hold")) == "lower hold"
    assert len(vocab) == 8
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocab.encode("z")


def test_windows_are_next_token_pairs():
    ids = torch.arange(100)
    x, y = data.windows(ids, block_size=8, batch_size=5, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (5, 8)
    assert torch.equal(y, x + 1)  # y is x shifted by one position of the sequence
    assert int(x.min()) >= 0 and int(y.max()) <= 99


@pytest.mark.parametrize(
    "ids, block, batch, match",
    [
        (torch.arange(10), 10, 2, "block_size must be between"),
        (torch.arange(10), 0, 2, "block_size must be between"),
        (torch.zeros(2, 5, dtype=torch.long), 2, 2, "1-D tensor"),
        (torch.arange(10), 3, 0, "batch_size"),
    ],
)
def test_windows_rejects_bad_sizes(ids, block, batch, match):
    with pytest.raises(ValueError, match=match):
        data.windows(ids, block, batch)
