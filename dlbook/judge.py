"""The judge of generated digits: the shipped ``mnist-judge`` LeNet-5 (99.2% on MNIST's test set).

The generative chapters ask it what their samples look like: which digit and how sure
(:func:`read`), how often the requested digit (:func:`rate`), how the samples spread
over the ten classes (:func:`class_histogram`, :func:`perplexity`, the marginal half of
the Inception Score), and how far their judge features lie from real digits'
(:func:`frechet_distance`, the Fréchet Inception Distance computed with the judge's
84-unit layer instead of an Inception network). Images are ``(N, 1, 28, 28)`` in [0, 1].
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from dlbook import checkpoints


@functools.cache
def _model(device: str) -> torch.nn.Module:
    return checkpoints.load("mnist-judge", device=device)


def _checked(images: torch.Tensor) -> torch.Tensor:
    if not torch.is_tensor(images) or images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        shape = tuple(images.shape) if torch.is_tensor(images) else type(images).__name__
        raise ValueError(f"the judge reads (N, 1, 28, 28) image tensors in [0, 1], got {shape}.")
    low, high = images.min().item(), images.max().item()
    if low < -0.01 or high > 1.01:
        raise ValueError(
            f"the judge reads pixels in [0, 1], got values from {low:.2f} to {high:.2f}; "
            "map images in [-1, 1] back with (x + 1) / 2."
        )
    return images


@torch.no_grad()
def logits(images: torch.Tensor) -> torch.Tensor:
    """The judge's class scores for each image."""
    images = _checked(images)
    return _model(str(images.device))(images)


def read(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The digit the judge sees in each image, and its confidence (softmax probability)."""
    confidence, digit = logits(images).softmax(dim=1).max(dim=1)
    return digit, confidence


def rate(images: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of images the judge reads as the digit in ``labels``."""
    digit, _ = read(images)
    if digit.shape != labels.shape:
        raise ValueError(f"{len(digit)} images but labels of shape {tuple(labels.shape)}.")
    return (digit == labels.to(digit.device)).float().mean().item()


def class_histogram(images: torch.Tensor) -> np.ndarray:
    """How many images the judge reads as each digit 0-9."""
    digit, _ = read(images)
    return np.bincount(digit.cpu().numpy(), minlength=10)


def perplexity(images: torch.Tensor) -> float:
    """exp(entropy) of the judge's average class distribution: 10 for an even spread of
    digits, 1 when every sample is the same digit."""
    p = logits(images).softmax(dim=1).mean(dim=0)
    return float(torch.exp(-(p * p.clamp_min(1e-12).log()).sum()))


@torch.no_grad()
def features(images: torch.Tensor) -> torch.Tensor:
    """The judge's 84-unit penultimate layer for each image."""
    images = _checked(images)
    model = _model(str(images.device))
    return model.classifier[:-1](model.features(images))


def frechet_distance(images: torch.Tensor, reference: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to the judge features of two image sets.

    FID (Heusel et al. 2017) does the same with Inception-v3 features of natural photos;
    lower is closer. Use a few thousand images per set: the estimate is biased upwards
    for small sets.
    """
    a, b = features(images).double().cpu(), features(reference).double().cpu()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    # trace of the matrix square root of cov_a @ cov_b, from its (real, >= 0) eigenvalues
    eigenvalues = torch.linalg.eigvals(cov_a @ cov_b).real.clamp_min(0)
    return float(
        (mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * eigenvalues.sqrt().sum()
    )
