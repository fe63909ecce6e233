"""Networks that several chapters reuse. A chapter that *teaches* a model defines it
in the open (or shows this source with ``literalinclude``); it never keeps a copy."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

from torch import nn


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.ReLU, dropout: float = 0.0):
    """A multilayer perceptron ``sizes[0] -> ... -> sizes[-1]`` that flattens its input.

    ``mlp([784, 256, 10])`` is one hidden layer of 256 ReLU units. The last layer
    has no activation: it returns logits.
    """
    if (
        isinstance(sizes, str | Integral)
        or len(sizes) < 2
        or not all(isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in sizes)
    ):
        raise ValueError(
            f"sizes must list at least input and output widths >= 1, got {sizes!r}; "
            "e.g. mlp([784, 256, 10])."
        )
    if not (isinstance(activation, type) and issubclass(activation, nn.Module)):
        raise TypeError(
            f"activation must be a module class such as nn.ReLU (not an instance like "
            f"nn.ReLU()), got {activation!r}."
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout is a probability in [0, 1), got {dropout}.")
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class LeNet5(nn.Module):
    """LeNet-5 in modern dress: ReLU and max pooling. Input (N, 1, 28, 28)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}.")
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(),  # 6 x 28 x 28
            nn.MaxPool2d(2),  # 6 x 14 x 14
            nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(),  # 16 x 10 x 10
            nn.MaxPool2d(2),  # 16 x 5 x 5
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes),
        )  # fmt: skip

    def forward(self, x):
        return self.classifier(self.features(x))
