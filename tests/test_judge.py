"""dlbook.judge's arithmetic: the Fréchet distance and the perplexity of its class spread."""

import numpy as np
import pytest
import torch
from scipy import linalg

from dlbook import judge


def frechet_by_sqrtm(a: np.ndarray, b: np.ndarray) -> float:
    """The textbook formula, with scipy's matrix square root."""
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b).real
    mean = np.sum((a.mean(0) - b.mean(0)) ** 2)
    return float(mean + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(root))


def test_frechet_distance_matches_scipy_sqrtm(monkeypatch):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 8))
    b = rng.normal(size=(300, 8)) @ rng.normal(size=(8, 8)) * 0.5 + 1.0
    features = {id(x): torch.from_numpy(y) for x, y in [(a, a), (b, b)]}
    monkeypatch.setattr(judge, "features", lambda images: features[id(images)])
    distance = judge.frechet_distance(a, b)
    assert distance == pytest.approx(frechet_by_sqrtm(a, b), rel=1e-6)
    assert distance > 1.0
    assert judge.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_perplexity_counts_the_digits_in_use(monkeypatch):
    even = torch.eye(10).repeat(3, 1) * 50  # each digit as often, each read surely
    one = torch.zeros(30, 10)
    one[:, 4] = 50  # every sample the same digit
    monkeypatch.setattr(judge, "logits", lambda images: images)
    assert judge.perplexity(even) == pytest.approx(10.0, rel=1e-4)
    assert judge.perplexity(one) == pytest.approx(1.0, rel=1e-4)
