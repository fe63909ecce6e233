"""The dataset registry and its verified fetcher (dlbook.datasets, dlbook.files), on tiny
datasets served by a fake mirror (tests/fake_data.py): no network, no dataset cache."""

from __future__ import annotations

import errno
import gzip
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT
from dlbook import data, datasets, files
from tests import fake_data

SETPRIV = shutil.which("setpriv")
NOBODY = 65534


@pytest.fixture
def tiny(tmp_path, monkeypatch) -> fake_data.FakeData:
    return fake_data.install(monkeypatch, tmp_path / "cache")


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


def test_the_real_registry_is_complete():
    for name, spec in datasets.DATASETS.items():
        assert spec.name == name and spec.kind in ("images", "text") and spec.files
        for f in spec.files:
            assert len(f.sha256) == 64 and f.urls and all(u.startswith("http") for u in f.urls)
            assert (f.gz_sha256 is not None) == (spec.kind == "images")
    assert datasets.dataset("Fashion_MNIST").name == "fashion-mnist"
    assert datasets.dataset("tiny-shakespeare").name == "tinyshakespeare"
    with pytest.raises(KeyError, match="choose one of: mnist, fashion-mnist, tinyshakespeare"):
        datasets.dataset("cifar10")


def test_fetch_downloads_the_gz_extracts_and_verifies(tiny, cache, monkeypatch):
    asked = fake_data.serve(monkeypatch, tiny.served)  # the same mirror, counting requests
    assert datasets.status("mnist") == "missing"
    assert datasets.ensure("mnist") == cache
    for f in datasets.dataset("mnist").files:
        assert files.sha256(cache / f.path) == f.sha256
        assert (cache / (f.path + ".gz")).exists()  # kept beside, as torchvision does
    assert datasets.status("mnist") == "verified" and len(asked) == 4
    datasets.ensure("mnist")  # verified files are not fetched again
    assert len(asked) == 4 and fake_data.leftovers(cache) == []


def test_a_wrong_byte_is_refused_and_leaves_nothing(tiny, cache, monkeypatch):
    url = datasets.dataset("tinyshakespeare").files[0].urls[0]
    fake_data.serve(monkeypatch, {url: tiny.served[url][:-1] + b"!"})
    with pytest.raises(datasets.DataUnavailableError, match="expected") as error:
        datasets.ensure("tinyshakespeare")
    assert "python -m dlbook fetch tinyshakespeare" in str(error.value)
    assert list(cache.rglob("input.txt")) == [] and fake_data.leftovers(cache) == []
    fake_data.serve(monkeypatch, tiny.served)
    datasets.ensure("tinyshakespeare")
    assert data.text() == fake_data.TEXT


def test_the_next_mirror_is_tried_when_one_fails(tiny, cache, monkeypatch):
    spec = datasets.dataset("tinyshakespeare")
    good = spec.files[0]
    mirrored = datasets.DataFile(good.path, good.sha256, ("https://down.invalid/x", *good.urls))
    monkeypatch.setitem(datasets.DATASETS, "tinyshakespeare", spec.__class__(
        spec.name, spec.description, (mirrored,), spec.kind))  # fmt: skip
    asked = fake_data.serve(monkeypatch, tiny.served)
    datasets.ensure("tinyshakespeare")
    assert asked == ["https://down.invalid/x", good.urls[0]]


def test_offline_and_uncached_gives_one_clear_error(tiny, cache, monkeypatch):
    fake_data.offline(monkeypatch)
    with pytest.raises(datasets.DataUnavailableError) as error:
        datasets.ensure("mnist")
    message = str(error.value)
    assert "'mnist'" in message and str(cache) in message and "no network" in message
    assert f"DLBOOK_DATA='{cache}' python -m dlbook fetch mnist" in message
    assert fake_data.leftovers(cache) == [] and not any(cache.rglob("*ubyte*"))


def test_a_corrupt_cached_file_is_named_with_the_fix(tiny, cache):
    target = cache / "tinyshakespeare/input.txt"
    target.parent.mkdir(parents=True)
    target.write_text("not shakespeare")
    with pytest.raises(datasets.CorruptFileError) as error:
        datasets.ensure("tinyshakespeare")
    assert f"rm '{target}' && python -m dlbook fetch tinyshakespeare" in str(error.value)
    assert datasets.status("tinyshakespeare") == f"corrupt: {target}"
    assert target.read_text() == "not shakespeare"  # never replaced behind the reader's back


def test_a_corrupt_gz_with_the_file_missing_is_named(tiny, cache):
    fake_data.fill(cache, tiny, gz=True)
    archive = cache / "MNIST/raw/t10k-labels-idx1-ubyte.gz"
    archive.write_bytes(archive.read_bytes()[:-3])
    assert datasets.status("mnist") == f"corrupt: {archive}"
    with pytest.raises(datasets.CorruptFileError, match=f"rm '{archive}'"):
        datasets.ensure("mnist")


def test_status_only_reads_and_ensure_extracts_without_network(tiny, cache, monkeypatch):
    fake_data.offline(monkeypatch)
    fake_data.fill(cache, tiny, gz=True)
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*")}
    assert datasets.status("fashion-mnist") == "compressed"
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*")} == before
    datasets.ensure("fashion-mnist")
    assert datasets.status("fashion-mnist") == "verified"


def test_a_relative_data_folder_that_leads_nowhere_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLBOOK_DATA", "../nowhere/datasets")
    with pytest.raises(datasets.DataUnavailableError) as error:
        datasets.data_root()
    assert 'export DLBOOK_DATA="$(realpath ../nowhere/datasets)"' in str(error.value)
    (tmp_path / "here").mkdir()
    monkeypatch.setenv("DLBOOK_DATA", "here")
    assert datasets.data_root() == tmp_path / "here"


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_fetched_files_get_the_mode_the_umask_gives(tiny, cache, umask, mode):
    old = os.umask(umask)
    try:
        datasets.ensure("mnist")
        datasets.ensure("tinyshakespeare")
    finally:
        os.umask(old)
    written = [p for p in cache.rglob("*") if p.is_file()]
    assert len(written) == 9  # 4 files, their 4 downloads, the text
    assert {stat.S_IMODE(p.stat().st_mode) for p in written} == {mode}


def _fill_and_fail(exception):
    """A ``shutil.copyfileobj`` that writes some bytes, then fails as the disk would."""

    def copy(source, out, *args):
        out.write(b"half a file")
        raise exception

    return copy


OS_ERRORS = {  # kind: (where it happens, the error, what the message must say)
    "no space": (
        "copy",
        OSError(errno.ENOSPC, "No space left on device"),
        ["no space left on the device", "point DLBOOK_DATA at a folder on another disk"],
    ),
    "quota": (
        "copy",
        OSError(errno.EDQUOT, "Disk quota exceeded"),
        ["disk quota is used up", "scratch folder"],
    ),
    "read-only file system": (
        "create",
        OSError(errno.EROFS, "Read-only file system"),
        ["read-only file system", "python -m dlbook fetch mnist", "writable folder"],
    ),
    "permission denied (write)": (
        "create",
        PermissionError(errno.EACCES, "Permission denied"),
        ["permission denied", "chmod -R a+rX", "python -m dlbook fetch mnist", "of your own"],
    ),
    "permission denied (read)": (
        "read",
        PermissionError(errno.EACCES, "Permission denied"),
        ["permission denied", "chmod -R a+rX", "of your own"],
    ),
}


@pytest.mark.parametrize("kind", OS_ERRORS)
def test_each_os_error_is_reported_as_what_it_is(tiny, cache, monkeypatch, kind):
    where, error, phrases = OS_ERRORS[kind]
    if where == "copy":  # the disk fills up while a download is being written
        monkeypatch.setattr(shutil, "copyfileobj", _fill_and_fail(error))
    elif where == "create":  # the folder refuses a new file
        monkeypatch.setattr(tempfile, "mkstemp", lambda **kw: (_ for _ in ()).throw(error))
    else:  # a cached file cannot be read
        fake_data.fill(cache, tiny)
        monkeypatch.setattr(files, "open", lambda *a, **kw: (_ for _ in ()).throw(error), False)
    with pytest.raises(datasets.DataUnavailableError) as raised:
        datasets.ensure("mnist")
    message = str(raised.value)
    for phrase in phrases:
        assert phrase in message, message
    assert "machine with internet" not in message  # not mistaken for a network failure
    assert fake_data.leftovers(cache) == []
    if where != "read":
        assert [p for p in cache.rglob("*") if p.is_file()] == []  # nothing half-written
        assert datasets.status("mnist") == "missing"
    else:
        assert datasets.status("mnist").startswith("unreadable: permission denied")


def test_write_atomically_leaves_nothing_when_the_fill_fails(tmp_path):
    target = tmp_path / "sub" / "file.bin"

    def boom(out):
        out.write(b"half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        files.write_atomically(target, boom, expected=None)
    with pytest.raises(files.CorruptFileError, match="expected"):
        files.write_atomically(target, lambda out: out.write(b"x"), expected="0" * 64)
    assert list(target.parent.iterdir()) == []
    files.write_atomically(target, lambda out: out.write(b"x"), expected=fake_data.sha(b"x"))
    assert target.read_bytes() == b"x"


# Run as root, but with the capabilities that override file permissions removed from the
# bounding set (and none inheritable): the process, still uid 0, is then subject to the
# ordinary permission checks, as a group member reading a teacher's folder would be.
DROP_OVERRIDES = [
    "--bounding-set=-dac_override,-dac_read_search,-fowner",
    "--inh-caps=-all",
]
AS_A_READER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from dlbook import data, datasets
    from tests import fake_data

    shared = Path(sys.argv[1])
    result = {}
    try:  # first make sure this process really may not write here
        (shared / "probe").write_text("x")
        result["write_denied"] = False
    except PermissionError:
        result["write_denied"] = True
    specs, fake = fake_data.build()
    missing = datasets.DataFile("missing/input.txt", fake_data.sha(b"more"), ("https://m/x",))
    specs["tiny-missing"] = datasets.DatasetSpec("tiny-missing", "", (missing,), "text")
    datasets.DATASETS.clear()
    datasets.DATASETS.update(specs)
    fake.served["https://m/x"] = b"more"
    import io, urllib.request
    urllib.request.urlopen = lambda url, timeout=None: io.BytesIO(fake.served[url])
    result["status"] = {name: datasets.status(name) for name in specs}
    x, y = data.load("mnist", train=False, device="cpu")
    result["mnist"] = [list(x.shape), y.tolist()]
    for name in ("fashion-mnist", "tinyshakespeare", "tiny-missing"):
        try:
            datasets.ensure(name)
            result[name] = "ok"
        except datasets.DataUnavailableError as error:
            result[name] = str(error)
    print(json.dumps(result))
    """
)


def _tree(folder: Path) -> dict:
    """Every path under ``folder`` with its mode, owner and modification time."""
    return {
        str(p): (p.stat().st_mode, p.stat().st_uid, p.stat().st_mtime_ns) for p in folder.rglob("*")
    }


@pytest.mark.skipif(SETPRIV is None, reason="needs setpriv (util-linux) to drop root's overrides")
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_a_read_only_shared_folder_owned_by_someone_else(tmp_path):
    """Simulates a group member reading a teacher's read-only DLBOOK_DATA on a cluster.

    The folder belongs to another user (``nobody``) and is read-only (folders 0555, files
    0444): MNIST is there, Fashion-MNIST only as its ``.gz`` downloads, Tiny Shakespeare
    is private to its owner (0400), and one dataset is missing. The reader's process runs
    without the capabilities that let root ignore permissions (``setpriv``), so it is
    checked like any non-owner; it first confirms that it may not write there.
    """
    shared = tmp_path / "shared"
    _, fake = fake_data.build()
    fake_data.fill(shared, fake)
    for f in (shared / "FashionMNIST/raw").iterdir():  # only the downloads, not extracted
        f.with_name(f.name + ".gz").write_bytes(gzip.compress(f.read_bytes(), mtime=0))
        f.unlink()
    for path in [shared, *shared.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)
        path.chmod(0o555 if path.is_dir() else 0o444)
    (shared / "tinyshakespeare/input.txt").chmod(0o400)
    before = _tree(shared)
    run = subprocess.run(
        [SETPRIV, *DROP_OVERRIDES, sys.executable, "-c", AS_A_READER, str(shared)],
        cwd=ROOT,
        env={**os.environ, "DLBOOK_DATA": str(shared), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["write_denied"], "setpriv did not take away root's permission overrides"
    assert result["status"]["mnist"] == "verified"
    assert result["status"]["fashion-mnist"] == "compressed"
    assert result["status"]["tinyshakespeare"].startswith("unreadable: permission denied")
    assert result["status"]["tiny-missing"] == "missing"
    assert result["mnist"] == [[4, 1, 28, 28], fake.labels[("mnist", "t10k")]]
    for name in ("fashion-mnist", "tinyshakespeare", "tiny-missing"):
        message = result[name]
        assert "permission denied" in message and f"chmod -R a+rX '{shared}'" in message
        assert "DLBOOK_DATA at a folder of your own" in message
    assert "python -m dlbook fetch tiny-missing" in result["tiny-missing"]
    assert _tree(shared) == before  # nothing written, nothing changed
