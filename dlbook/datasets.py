"""The dataset registry: official sources, checksums, and a verified, atomic fetcher.

Files live under one cache root, ``DLBOOK_DATA`` (default ``~/.cache/dlbook``), in
torchvision's layout (``MNIST/raw/...``), so torchvision's dataset classes read them
unchanged. Every file is checked against its SHA-256 before use. A missing file is
downloaded from its official source and renamed into place only once its checksum
matches (:func:`dlbook.files.write_atomically`). A folder that holds every file may be
read-only: nothing is written then. Errors say what went wrong and how to fix it.
"""

from __future__ import annotations

import gzip
import http.client
import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from dlbook.files import CorruptFileError, explain_os_error, sha256, write_atomically

__all__ = ["CorruptFileError", "DataUnavailableError", "DATASETS", "data_root", "ensure"]

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException)


class DataUnavailableError(RuntimeError):
    """A dataset is not usable from the cache, and the message says why and what to do."""


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
class DatasetSpec:
    """A registry entry: a name, what it is, its files, and its kind (images or text)."""

    name: str
    description: str
    files: tuple[DataFile, ...]
    kind: str  # "images" (IDX files, loaded by dlbook.data.load) or "text" (data.text)


def _idx_files(folder: str, mirrors: tuple[str, ...], checksums: dict) -> tuple[DataFile, ...]:
    return tuple(
        DataFile(f"{folder}/raw/{stem}", raw, tuple(m + stem + ".gz" for m in mirrors), gz)
        for stem, (raw, gz) in checksums.items()
    )


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
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
        "images",
    ),
    "fashion-mnist": DatasetSpec(
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
        "images",
    ),
    "tinyshakespeare": DatasetSpec(
        "tinyshakespeare",
        "Tiny Shakespeare, 1,115,394 characters of plays (Karpathy's char-rnn)",
        (
            DataFile(
                "tinyshakespeare/input.txt",
                "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                (SHAKESPEARE_URL,),
            ),
        ),
        "text",
    ),
}
ALIASES = {"fashionmnist": "fashion-mnist", "tiny-shakespeare": "tinyshakespeare"}


def data_root() -> Path:
    """The cache root: ``DLBOOK_DATA``, else ``$XDG_CACHE_HOME/dlbook`` or ``~/.cache/dlbook``.

    A relative ``DLBOOK_DATA`` is read from the current folder. Chapters run from
    ``book/``, so the build and the tests make it absolute first; anywhere else a
    relative path that does not exist is refused with the absolute path to use.
    """
    value = os.environ.get("DLBOOK_DATA", "").strip()
    if not value:
        cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(cache) / "dlbook"
    path = Path(value).expanduser()
    if not path.is_absolute() and not path.is_dir():
        raise DataUnavailableError(
            f"DLBOOK_DATA={value!r} is a relative path, and from this process's folder "
            f"({Path.cwd()}) it leads to {path.resolve()}, which does not exist. Chapters run "
            "from book/, not from where you typed the command: set an absolute path, e.g. "
            f'export DLBOOK_DATA="$(realpath {value})"'
        )
    return path.resolve()


def dataset(name: str) -> DatasetSpec:
    """Look a dataset up by name (case and ``_``/``-`` insensitive)."""
    key = str(name).strip().lower().replace("_", "-")
    key = ALIASES.get(key, key)
    if key not in DATASETS:
        raise KeyError(f"Unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}.")
    return DATASETS[key]


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


class _NetworkError(Exception):
    """Every mirror failed; the message lists each one's error."""


def _download(urls: tuple[str, ...], target: Path, expected: str) -> None:
    errors = []
    for url in urls:
        try:
            print(f"Downloading {url}")
            with urllib.request.urlopen(url, timeout=60) as response:
                write_atomically(
                    target, lambda out, r=response: shutil.copyfileobj(r, out), expected
                )
            return
        except (*NETWORK_ERRORS, CorruptFileError) as error:  # a local OSError is not retried
            errors.append(f"{url}: {error}")
    raise _NetworkError("; ".join(errors))


def _gunzip(source: Path, target: Path, expected: str) -> None:
    def fill(out):
        with gzip.open(source, "rb") as f:
            shutil.copyfileobj(f, out)

    write_atomically(target, fill, expected)


def _materialise(ds: DatasetSpec, file: DataFile, root: Path) -> None:
    """Make one file present and verified, downloading it if needed."""
    target = root / file.path
    if _check(target, file.sha256, ds.name):
        return
    if file.gz_sha256 is None:
        _download(file.urls, target, file.sha256)
        return
    archive = target.with_name(target.name + ".gz")
    if not _check(archive, file.gz_sha256, ds.name):
        _download(file.urls, archive, file.gz_sha256)
    _gunzip(archive, target, file.sha256)


def ensure(name: str) -> Path:
    """Make every file of a dataset present and verified; return the cache root.

    Raises :class:`DataUnavailableError` (no network, no permission, a read-only or
    full disk) or :class:`CorruptFileError`, each naming the file and the fix.
    """
    ds, root = dataset(name), data_root()
    for file in ds.files:
        try:
            _materialise(ds, file, root)
        except _NetworkError as error:
            raise DataUnavailableError(
                f"Dataset {ds.name!r} is not in the data cache and could not be downloaded.\n"
                f"  looked for: {root / file.path}\n"
                f"  reason: {error}\n"
                f"  fix: on a machine with internet run\n"
                f"      DLBOOK_DATA='{root}' python -m dlbook fetch {ds.name}\n"
                f"  or set DLBOOK_DATA to a folder that already holds it."
            ) from None
        except OSError as error:
            raise DataUnavailableError(
                f"Dataset {ds.name!r} could not be read or written in the data cache: "
                f"{explain_os_error(error, root, f'python -m dlbook fetch {ds.name}')}"
            ) from None
    return root


def status(name: str) -> str:
    """The cache's state of one dataset, read without writing or downloading anything.

    ``verified`` (ready), ``compressed`` (only the verified ``.gz`` downloads: the first
    load extracts them), ``missing``, ``corrupt: <file>`` or ``unreadable: <reason>``.
    """
    ds, root = dataset(name), data_root()
    states = set()
    try:
        for file in ds.files:
            if _check(root / file.path, file.sha256, ds.name):
                states.add("verified")
            elif file.gz_sha256 and _check(root / (file.path + ".gz"), file.gz_sha256, ds.name):
                states.add("compressed")
            else:
                return "missing"
    except CorruptFileError as error:
        return f"corrupt: {error.path}"
    except OSError as error:
        return f"unreadable: {explain_os_error(error, root, f'python -m dlbook fetch {ds.name}')}"
    return "compressed" if "compressed" in states else "verified"
