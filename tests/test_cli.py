"""``python -m dlbook``: fetch, info, kernel and checkpoint, on the tiny datasets of
tests/fake_data.py (no network, no dataset cache)."""

import json
import stat

import pytest

from dlbook import checkpoints, cli, datasets
from tests import fake_data


@pytest.fixture
def tiny(tmp_path, monkeypatch) -> fake_data.FakeData:
    return fake_data.install(monkeypatch, tmp_path / "cache")


def test_fetch_then_info_show_every_dataset_verified(tiny, tmp_path, capsys):
    assert cli.main(["fetch"]) == 0
    out = capsys.readouterr().out
    for name in datasets.DATASETS:
        assert f"{name}: verified in {tmp_path / 'cache'}" in out
    assert cli.main(["info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"data cache (DLBOOK_DATA): {tmp_path / 'cache'}" in lines
    states = {line.split()[0]: line.split()[1] for line in lines if line.startswith("  ")}
    assert states == dict.fromkeys(datasets.DATASETS, "verified")


def test_info_tells_what_is_missing_compressed_or_corrupt(tiny, tmp_path, capsys):
    cache = tmp_path / "cache"
    fake_data.fill(cache, tiny, gz=True)
    (cache / "MNIST/raw/train-images-idx3-ubyte.gz").unlink()
    (cache / "tinyshakespeare/input.txt").write_text("wrong")
    assert cli.main(["info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    states = {line.split()[0]: line.split()[1] for line in lines if line.startswith("  ")}
    assert states == {
        "mnist": "missing",
        "fashion-mnist": "compressed",
        "tinyshakespeare": "corrupt:",
    }


def test_info_with_a_bad_setting_says_which(tiny, monkeypatch, capsys):
    monkeypatch.setenv("DLBOOK_THREADS", "0")
    monkeypatch.setenv("DLBOOK_DATA", "no/such/folder")
    assert cli.main(["info"]) == 1
    out = capsys.readouterr().out
    assert "CPU threads: invalid (DLBOOK_THREADS='0' must be a positive integer" in out
    assert "data cache (DLBOOK_DATA): invalid" in out and "realpath no/such/folder" in out


def test_fetch_offline_exits_nonzero_with_the_fix(tiny, tmp_path, monkeypatch, capsys):
    fake_data.offline(monkeypatch)
    assert cli.main(["fetch", "mnist"]) == 1
    err = capsys.readouterr().err
    assert "'mnist'" in err and "python -m dlbook fetch mnist" in err
    assert not any((tmp_path / "cache").rglob("*"))


def test_fetch_unknown_name_lists_the_known_ones(tiny, capsys):
    assert cli.main(["fetch", "imagenet", "tinyshakespeare"]) == 1
    captured = capsys.readouterr()
    assert "Unknown dataset 'imagenet'; choose one of: mnist" in captured.err
    assert "tinyshakespeare: verified" in captured.out  # the others are still fetched


def test_an_unknown_command_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["download"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "invalid choice: 'download'" in err
    assert "'fetch'" in err  # argparse lists the commands there are


def test_kernel_installs_a_kernelspec_with_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    prefix = ["kernel", "--name", "dlbook-test", "--prefix", str(tmp_path)]
    assert cli.main([*prefix, "--data", "shared/dlbook-data"]) == 0
    spec = json.loads(next(tmp_path.rglob("kernel.json")).read_text())
    assert spec["display_name"] == "Python (dlbook)"
    assert spec["env"]["DLBOOK_DATA"] == str(tmp_path / "shared/dlbook-data")  # made absolute
    assert spec["env"]["OMP_WAIT_POLICY"] == "PASSIVE"


def test_checkpoint_verify(capsys):
    assert cli.main(["checkpoint", "verify"]) == 0
    assert capsys.readouterr().out.count("verified") == 2
    assert cli.main(["checkpoint", "verify", "imagenet-resnet"]) == 1
    assert "choose one of: fashion-lenet, mnist-judge" in capsys.readouterr().err


def test_checkpoint_train_writes_a_readable_file_atomically(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(checkpoints, "WEIGHTS", tmp_path / "weights")
    assert cli.main(["checkpoint", "train", "mnist-judge"]) == 0
    out = capsys.readouterr().out
    assert "mnist-judge: test accuracy" in out and "record this sha256" in out
    written = list((tmp_path / "weights").iterdir())
    assert [p.name for p in written] == ["mnist-judge.pt"]  # no temporary file left
    assert stat.S_IMODE(written[0].stat().st_mode) == 0o666 & ~_umask()


def test_checkpoint_train_without_data_names_the_fix(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(checkpoints, "WEIGHTS", tmp_path / "weights")
    fake_data.offline(monkeypatch)
    assert cli.main(["checkpoint", "train", "fashion-lenet"]) == 1
    assert "python -m dlbook fetch fashion-mnist" in capsys.readouterr().err
    assert not (tmp_path / "weights").exists() or not any((tmp_path / "weights").iterdir())


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
