import json
import subprocess
import sys
import urllib.request

from dlbook import cli, datasets


def test_info_shows_every_dataset_verified():
    out = subprocess.run(
        [sys.executable, "-m", "dlbook", "info"], capture_output=True, text=True, check=True
    ).stdout
    for name in datasets.DATASETS:
        assert f"{name}" in out
    assert out.count("verified") == len(datasets.DATASETS)


def test_fetch_offline_exits_nonzero_with_the_fix(data_dir, monkeypatch, capsys):
    def refuse(url, timeout=None):
        raise urllib.request.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    assert cli.main(["fetch", "mnist"]) == 1
    err = capsys.readouterr().err
    assert "'mnist'" in err and "python -m dlbook fetch mnist" in err
    assert not any(data_dir.rglob("*"))


def test_fetch_unknown_name_fails():
    assert cli.main(["fetch", "imagenet"]) == 1


def test_fetch_verifies_what_is_cached(capsys):
    assert cli.main(["fetch", "tinyshakespeare"]) == 0
    assert "tinyshakespeare: verified" in capsys.readouterr().out


def test_kernel_installs_a_kernelspec_with_the_data_folder(tmp_path):
    assert (
        cli.main(
            [
                "kernel",
                "--name",
                "dlbook-test",
                "--prefix",
                str(tmp_path),
                "--data",
                "/shared/dlbook-data",
            ]
        )
        == 0
    )
    spec = json.loads(next(tmp_path.rglob("kernel.json")).read_text())
    assert spec["display_name"] == "Python (dlbook)"
    assert spec["env"]["DLBOOK_DATA"] == "/shared/dlbook-data"


def test_checkpoint_verify(capsys):
    assert cli.main(["checkpoint", "verify"]) == 0
    assert capsys.readouterr().out.count("verified") == 2
    assert cli.main(["checkpoint", "verify", "imagenet-resnet"]) == 1
