"""Tiny datasets in the real file formats, written by the tests themselves.

The unit tests need no network and no dataset cache: :func:`install` registers a tiny
MNIST, Fashion-MNIST (IDX files, gzipped on a fake mirror as the real ones are) and Tiny
Shakespeare (a short text) in :data:`dlbook.datasets.DATASETS`, under the real names and
the torchvision layout, with their real SHA-256s, and answers ``urlopen`` from a dict of
URL -> bytes. Tests that need the real data use :func:`needs_real_data`.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import struct
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from dlbook import data, datasets

MIRROR = "https://mirror.invalid/"
TEXT = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
    "All:\nSpeak, speak.\n\nFirst Citizen:\nYou are all resolved rather to die than to famish?\n"
)
SIZES = {"train": 6, "t10k": 4}  # examples per split


def idx_images(images: list[bytes], rows: int = 28, cols: int = 28) -> bytes:
    """An IDX3 file (magic 0x00000803: unsigned bytes, 3 dimensions), big-endian sizes."""
    return struct.pack(">IIII", 0x0803, len(images), rows, cols) + b"".join(images)


def idx_labels(labels: list[int]) -> bytes:
    """An IDX1 file (magic 0x00000801: unsigned bytes, 1 dimension)."""
    return struct.pack(">II", 0x0801, len(labels)) + bytes(labels)


def image(label: int, seed: int) -> bytes:
    """A 28x28 picture: a bar whose row depends on the label, and some speckle below it."""
    pixels = bytearray(28 * 28)
    for col in range(4, 24):
        pixels[(2 + 2 * label) * 28 + col] = 255
    for k in range(20):
        pixels[24 * 28 + (seed * 97 + k * 31) % 112] = (seed * 53 + k * 7) % 256
    return bytes(pixels)


def sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


@dataclass
class FakeData:
    """The tiny registry's files: ``raw[path]`` is a file's bytes; ``served`` maps URL to bytes."""

    raw: dict[str, bytes]
    served: dict[str, bytes]
    labels: dict[tuple[str, str], list[int]]  # (dataset, split) -> labels


def build() -> tuple[dict[str, datasets.DatasetSpec], FakeData]:
    """The tiny registry (same names, layout and kinds as the real one) and its files."""
    specs, raw, served, labels = {}, {}, {}, {}
    for name, folder, offset in (("mnist", "MNIST", 0), ("fashion-mnist", "FashionMNIST", 3)):
        files = []
        for split, n in SIZES.items():
            ys = [(offset + i) % 10 for i in range(n)]
            labels[(name, split)] = ys
            contents = {
                f"{split}-images-idx3-ubyte": idx_images([image(y, i) for i, y in enumerate(ys)]),
                f"{split}-labels-idx1-ubyte": idx_labels(ys),
            }
            for stem, payload in contents.items():
                path, packed = f"{folder}/raw/{stem}", gzip.compress(payload, mtime=0)
                url = f"{MIRROR}{folder}/{stem}.gz"
                raw[path], served[url] = payload, packed
                files.append(datasets.DataFile(path, sha(payload), (url,), sha(packed)))
        specs[name] = datasets.DatasetSpec(name, f"tiny {name}", tuple(files), "images")
    text = TEXT.encode()
    path, url = "tinyshakespeare/input.txt", f"{MIRROR}input.txt"
    raw[path], served[url] = text, text
    specs["tinyshakespeare"] = datasets.DatasetSpec(
        "tinyshakespeare",
        "tiny text",
        (datasets.DataFile(path, sha(text), (url,)),),
        "text",
    )
    return specs, FakeData(raw, served, labels)


def serve(monkeypatch, payloads: dict[str, bytes]) -> list[str]:
    """Answer ``urlopen`` from ``payloads`` like an offline mirror; returns the URLs asked."""
    asked = []

    def fake(url, timeout=None):
        asked.append(url)
        if url not in payloads:
            raise urllib.request.URLError(f"not found: {url}")
        return io.BytesIO(payloads[url])

    monkeypatch.setattr(urllib.request, "urlopen", fake)
    return asked


def offline(monkeypatch) -> None:
    """``urlopen`` refuses, as on a machine without network."""

    def refuse(url, timeout=None):
        raise urllib.request.URLError("no network in this test")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def install(monkeypatch, root: Path) -> FakeData:
    """Register the tiny datasets with ``root`` as an empty ``DLBOOK_DATA``, served by a fake
    mirror (nothing is fetched until a test asks)."""
    specs, fake = build()
    root.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("DLBOOK_DATA", str(root))
    monkeypatch.setattr(datasets, "DATASETS", specs)
    # a cache of its own, dropped at teardown: the real one is keyed by folder, not by registry
    monkeypatch.setattr(data, "_idx_tensors", functools.cache(data._idx_tensors.__wrapped__))
    serve(monkeypatch, fake.served)
    return fake


def fill(root: Path, fake: FakeData, gz: bool = False) -> None:
    """Write the tiny datasets' files into ``root`` as a fetch would (or only the ``.gz``)."""
    for path, payload in fake.raw.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if gz and path.endswith("ubyte"):
            target.with_name(target.name + ".gz").write_bytes(gzip.compress(payload, mtime=0))
        else:
            target.write_bytes(payload)


def leftovers(root: Path) -> list[Path]:
    """Half-written files (the ``.part`` temporaries of :func:`dlbook.files.write_atomically`)."""
    return [p for p in root.rglob("*") if ".part" in p.name]


@functools.cache
def _real_state(names: tuple[str, ...]) -> str | None:
    """Why the real datasets cannot be used here, or None if all are verified."""
    try:
        root = datasets.data_root()
        states = {name: datasets.status(name) for name in names}
    except (datasets.DataUnavailableError, OSError) as error:
        return str(error)
    missing = [f"{name} ({state})" for name, state in states.items() if state != "verified"]
    if missing:
        return (
            f"needs the real {', '.join(missing)} in DLBOOK_DATA={root}; "
            f"fetch them with: python -m dlbook fetch {' '.join(names)}"
        )
    return None


def needs_real_data(*names: str):
    """Mark a test ``dataset`` and skip it, with the reason, unless the real data is cached."""
    reason = _real_state(names)

    def decorate(test):
        test = pytest.mark.dataset(test)
        return pytest.mark.skipif(reason is not None, reason=reason or "")(test)

    return decorate
