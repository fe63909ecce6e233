import random
import subprocess
import sys

import numpy as np
import pytest
import torch

import dlbook


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
