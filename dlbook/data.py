"""Datasets: a registry of checksummed files, an atomic fetcher, and tensor loaders.

Files live under one cache root, ``DLBOOK_DATA`` (default ``~/.cache/dlbook``),
in torchvision's layout (``MNIST/raw/...``), so torchvision's dataset classes
read them unchanged. Every file is verified against its SHA-256 before use.
A missing file is downloaded from its official source into a temporary file
and renamed into place only once its checksum matches; nothing half-written is
ever left under its real name. Loaders return whole datasets as tensors on the
chosen device, and :class:`Batches` shuffles them with no per-item Python work.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from dlbook.runtime import device as default_device

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)

FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


class DataUnavailableError(RuntimeError):
    """A dataset is neither in the cache nor downloadable right now."""


class CorruptFileError(RuntimeError):
    """A cached file does not match its recorded checksum."""

    def __init__(self, message: str, path: Path | None = None):
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class DataFile:
    """One file as a loader reads it, and the download it comes from.

    ``gz_sha256`` is set when the official download is the gzipped file
    ``<path>.gz``; it is kept beside the extracted file, as torchvision does.
    """

    path: str
    sha256: str
    urls: tuple[str, ...]
    gz_sha256: str | None = None


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    files: tuple[DataFile, ...]


def _idx_files(folder: str, mirrors: tuple[str, ...], checksums: dict) -> tuple[DataFile, ...]:
    return tuple(
        DataFile(f"{folder}/raw/{stem}", raw, tuple(m + stem + ".gz" for m in mirrors), gz)
        for stem, (raw, gz) in checksums.items()
    )


DATASETS: dict[str, Dataset] = {
    "mnist": Dataset(
        "mnist",
        "MNIST handwritten digits, 60,000 train / 10,000 test, 28x28 (LeCun et al. 1998)",
        _idx_files(
            "MNIST",
            MNIST_MIRRORS,
            {
                "train-images-idx3-ubyte": (
                    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                ),
                "train-labels-idx1-ubyte": (
                    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                ),
                "t10k-images-idx3-ubyte": (
                    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                ),
                "t10k-labels-idx1-ubyte": (
                    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                ),
            },
        ),
    ),
    "fashion-mnist": Dataset(
        "fashion-mnist",
        "Fashion-MNIST clothing images, 60,000 train / 10,000 test, 28x28 (Xiao et al. 2017)",
        _idx_files(
            "FashionMNIST",
            FASHION_MIRRORS,
            {
                "train-images-idx3-ubyte": (
                    "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                    "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                ),
                "train-labels-idx1-ubyte": (
                    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                    "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                ),
                "t10k-images-idx3-ubyte": (
                    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                    "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                ),
                "t10k-labels-idx1-ubyte": (
                    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                    "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                ),
            },
        ),
    ),
    "tinyshakespeare": Dataset(
        "tinyshakespeare",
        "Tiny Shakespeare, 1,115,394 characters of plays (Karpathy's char-rnn)",
        (
            DataFile(
                "tinyshakespeare/input.txt",
                "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                (SHAKESPEARE_URL,),
            ),
        ),
    ),
}


def data_root() -> Path:
    """The cache root: ``DLBOOK_DATA``, else ``$XDG_CACHE_HOME/dlbook`` or ``~/.cache/dlbook``."""
    if os.environ.get("DLBOOK_DATA"):
        return Path(os.environ["DLBOOK_DATA"]).expanduser().resolve()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "dlbook"


def dataset(name: str) -> Dataset:
    """Look a dataset up by name (case and ``_``/``-`` insensitive)."""
    key = name.strip().lower().replace("_", "-")
    key = {"fashionmnist": "fashion-mnist", "tiny-shakespeare": "tinyshakespeare"}.get(key, key)
    if key not in DATASETS:
        raise KeyError(f"Unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}.")
    return DATASETS[key]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check(path: Path, expected: str, name: str) -> bool:
    """True if ``path`` exists and matches; False if absent; raise if corrupt."""
    if not path.exists():
        return False
    if sha256(path) != expected:
        raise CorruptFileError(
            f"The cached file {path} of dataset {name!r} does not match its checksum "
            f"(expected sha256 {expected}). Delete it and fetch again: "
            f"rm '{path}' && python -m dlbook fetch {name}",
            path,
        )
    return True


def _write_atomically(target: Path, fill, expected: str | None) -> None:
    """Write ``target`` via a temporary file in its folder, renamed only if the checksum matches.

    ``expected=None`` writes a new file whose checksum is not known yet (a retrained checkpoint).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            fill(out)
        actual = sha256(Path(tmp))
        if expected is not None and actual != expected:
            raise CorruptFileError(f"{target.name}: got sha256 {actual}, expected {expected}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _download(urls: tuple[str, ...], target: Path, expected: str) -> None:
    errors = []
    for url in urls:
        try:
            print(f"Downloading {url}")
            with urllib.request.urlopen(url, timeout=60) as response:
                _write_atomically(
                    target, lambda out, r=response: shutil.copyfileobj(r, out), expected
                )
            return
        except (OSError, CorruptFileError) as error:
            errors.append(f"{url}: {error}")
    raise OSError("; ".join(errors))


def _gunzip(source: Path, target: Path, expected: str) -> None:
    def fill(out):
        with gzip.open(source, "rb") as f:
            shutil.copyfileobj(f, out)

    _write_atomically(target, fill, expected)


def _materialise(ds: Dataset, file: DataFile, root: Path, download: bool) -> None:
    """Make one file present and verified, downloading it if allowed."""
    target = root / file.path
    if _check(target, file.sha256, ds.name):
        return
    if file.gz_sha256 is None:
        if not download:
            raise FileNotFoundError(target)
        _download(file.urls, target, file.sha256)
        return
    archive = target.with_name(target.name + ".gz")
    if not _check(archive, file.gz_sha256, ds.name):
        if not download:
            raise FileNotFoundError(target)
        _download(file.urls, archive, file.gz_sha256)
    _gunzip(archive, target, file.sha256)


def ensure(name: str, download: bool = True) -> Path:
    """Make every file of a dataset present and verified; return the cache root.

    Raises :class:`DataUnavailableError` with the fix when it cannot.
    """
    ds, root = dataset(name), data_root()
    for file in ds.files:
        try:
            _materialise(ds, file, root, download)
        except CorruptFileError:
            raise
        except OSError as error:
            raise DataUnavailableError(
                f"Dataset {ds.name!r} is not in the data cache and could not be fetched.\n"
                f"  looked for: {root / file.path}\n"
                f"  reason: {error}\n"
                f"  fix: on a machine with internet run\n"
                f"      DLBOOK_DATA='{root}' python -m dlbook fetch {ds.name}\n"
                f"  or set DLBOOK_DATA to a folder that already holds it."
            ) from None
    return root


def status(name: str) -> str:
    """``verified``, ``missing`` or ``corrupt: <file>``, without downloading anything."""
    try:
        ensure(name, download=False)
    except CorruptFileError as error:
        return f"corrupt: {error.path}"
    except DataUnavailableError:
        return "missing"
    return "verified"


@functools.cache
def _idx_tensors(name: str, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision import datasets

    root = ensure(name)
    cls = datasets.FashionMNIST if name == "fashion-mnist" else datasets.MNIST
    ds = cls(str(root), train=train, download=False)
    return ds.data, ds.targets


def load(
    name: str, train: bool = True, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """An image dataset as ``(x, y)`` tensors on ``device``.

    ``x`` is float32 of shape ``(N, 1, 28, 28)`` scaled to [0, 1]; ``y`` is int64.
    The files are read once per process; each call returns fresh tensors.
    """
    ds = dataset(name)
    if ds.name not in ("mnist", "fashion-mnist"):
        raise ValueError(f"{ds.name!r} is text, not images; use dlbook.data.text({ds.name!r}).")
    images, labels = _idx_tensors(ds.name, bool(train))
    target = torch.device(device) if device is not None else default_device()
    x = images.to(target).unsqueeze(1).float().div_(255)
    return x, labels.to(target)


def text(name: str = "tinyshakespeare") -> str:
    """A text dataset as one string."""
    ds = dataset(name)
    if ds.name != "tinyshakespeare":
        raise ValueError(f"{ds.name!r} is an image dataset; use dlbook.data.load({ds.name!r}).")
    root = ensure(ds.name)
    return (root / ds.files[0].path).read_text(encoding="utf-8")


class CharVocab:
    """Characters to integer ids and back, for character-level language models."""

    def __init__(self, text: str):
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, s: str) -> torch.Tensor:
        try:
            return torch.tensor([self.index[c] for c in s], dtype=torch.long)
        except KeyError as error:
            raise ValueError(f"character {error.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def windows(
    ids: torch.Tensor, block_size: int, batch_size: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows of a token sequence and the same windows shifted by one.

    ``x[b, t]`` is followed by ``y[b, t]`` in ``ids``: the next-token targets of a
    language model. Both have shape ``(batch_size, block_size)`` and live on ``ids.device``.
    """
    if ids.dim() != 1:
        raise ValueError(f"ids must be a 1-D tensor of token ids, got shape {tuple(ids.shape)}.")
    if not 1 <= block_size < len(ids):
        raise ValueError(
            f"block_size must be between 1 and len(ids) - 1 = {len(ids) - 1}, got {block_size}."
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    starts = torch.randint(len(ids) - block_size, (batch_size,), generator=generator)
    index = starts[:, None] + torch.arange(block_size + 1)
    chunk = ids[index.to(ids.device)]
    return chunk[:, :-1], chunk[:, 1:]


class Batches:
    """Mini-batches of aligned tensors, shuffled each pass with one ``randperm``.

    ``for xb, yb in Batches(x, y, batch_size=128, shuffle=True): ...``
    The tensors stay where they are (e.g. on the GPU); indexing is the only work.
    """

    def __init__(
        self,
        *tensors: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: torch.Generator | None = None,
    ):
        if not tensors:
            raise ValueError(
                "Batches needs at least one tensor, e.g. Batches(x, y, batch_size=64)."
            )
        sizes = [len(t) for t in tensors]
        if len(set(sizes)) != 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ValueError(
                f"tensors must have the same length along dim 0, got shapes {shapes}; "
                "pass inputs and labels of the same examples."
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        self.tensors, self.n = tensors, sizes[0]
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.generator = generator

    def __len__(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        if self.shuffle:
            order = torch.randperm(self.n, generator=self.generator)
            order = order.to(self.tensors[0].device)
        for i in range(len(self)):
            start = i * self.batch_size
            if self.shuffle:
                index = order[start : start + self.batch_size]
                yield tuple(t[index] for t in self.tensors)
            else:
                yield tuple(t[start : start + self.batch_size] for t in self.tensors)
