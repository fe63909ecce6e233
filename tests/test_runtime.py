import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

import dlbook
from dlbook import runtime


def test_import_has_no_side_effects():
    code = (
        "import plotly.io as pio, torch; before = (pio.renderers.default, torch.initial_seed());"
        "import dlbook, dlbook.data, dlbook.train, dlbook.plot, dlbook.explore;"
        "assert (pio.renderers.default, torch.initial_seed()) == before, 'import changed state'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_profile_defaults_to_full_and_validates(monkeypatch):
    monkeypatch.delenv("DLBOOK_PROFILE", raising=False)
    assert dlbook.profile() == "full"
    assert dlbook.pick(1, 10) == 10
    monkeypatch.setenv("DLBOOK_PROFILE", "quick")
    assert dlbook.pick(1, 10) == 1
    monkeypatch.setenv("DLBOOK_PROFILE", "fast")
    with pytest.raises(ValueError, match="use 'quick' or 'full'"):
        dlbook.profile()


def test_device_override(monkeypatch):
    monkeypatch.setenv("DLBOOK_DEVICE", "cpu")
    assert dlbook.device() == torch.device("cpu")
    monkeypatch.setenv("DLBOOK_DEVICE", "tpu")
    with pytest.raises(ValueError, match="use cpu, cuda or mps"):
        dlbook.device()
    if not torch.cuda.is_available():
        monkeypatch.setenv("DLBOOK_DEVICE", "cuda")
        with pytest.raises(RuntimeError, match="unset DLBOOK_DEVICE"):
            dlbook.device()


def test_seed_makes_python_numpy_and_torch_repeat(monkeypatch):
    monkeypatch.setenv("DLBOOK_SEED", "3")
    draws = []
    for _ in range(2):
        assert dlbook.seed_everything() == 3
        draws.append((random.random(), np.random.rand(), torch.rand(1).item()))
    assert draws[0] == draws[1]
    monkeypatch.setenv("DLBOOK_SEED", "three")
    with pytest.raises(ValueError, match="not an integer"):
        dlbook.seed_everything()


def test_setup_prints_what_it_chose(monkeypatch, capsys):
    monkeypatch.setenv("DLBOOK_SEED", "2")
    settings = dlbook.setup("unit")
    out = capsys.readouterr().out
    assert settings.seed == 2 and "seed 2" in out and f"profile {settings.profile}" in out
    assert dlbook.__version__ in out


def test_import_dlbook_sets_the_openmp_wait_policy_before_torch_loads():
    code = (
        "import os, sys; os.environ.pop('OMP_WAIT_POLICY', None); import dlbook;"
        "assert 'torch' not in sys.modules, 'import dlbook imported torch';"
        "assert os.environ['OMP_WAIT_POLICY'] == 'PASSIVE'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_kernel_environment_makes_the_data_folder_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert runtime.kernel_environment("data") == {
        "OMP_WAIT_POLICY": "PASSIVE",
        "DLBOOK_DATA": str(tmp_path / "data"),
    }
    monkeypatch.setenv("OMP_WAIT_POLICY", "active")  # a reader's own choice is kept
    assert runtime.kernel_environment() == {"OMP_WAIT_POLICY": "active"}
    monkeypatch.setenv("DLBOOK_DATA", "shared")
    runtime.prepare_kernels()
    assert os.environ["DLBOOK_DATA"] == str(tmp_path / "shared")


@pytest.mark.parametrize(
    "files, quota",
    [
        ({"cpu.max": "150000 100000\n"}, 1.5),  # cgroup v2, one and a half CPUs
        ({"cpu.max": "max 100000\n"}, None),  # cgroup v2, unlimited
        ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2.0),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),  # no cgroup files at all
    ],
)
def test_cpu_quota_reads_cgroup_v2_and_v1(tmp_path, files, quota):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert runtime.cpu_quota(tmp_path) == quota


def test_progress_with_bars_off_yields_everything_and_prints_one_line(monkeypatch, capsys):
    monkeypatch.setenv("DLBOOK_PROGRESS", "0")
    assert list(runtime.progress(range(5), "training")) == [0, 1, 2, 3, 4]
    assert capsys.readouterr() == ("training: 5 iterations\n", "")
    for _ in runtime.progress(iter("abc")):
        break  # a loop left early still says how far it got
    assert capsys.readouterr().out == "progress: 1 iterations\n"
