"""Networks that several chapters reuse. A chapter that *teaches* a model defines it
in the open (or shows this source with ``literalinclude``); it never keeps a copy."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.ReLU, dropout: float = 0.0):
    """A multilayer perceptron ``sizes[0] -> ... -> sizes[-1]`` that flattens its input.

    ``mlp([784, 256, 10])`` is one hidden layer of 256 ReLU units. The last layer
    has no activation: it returns logits.
    """
    if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
        raise ValueError(f"sizes must list at least input and output widths >= 1, got {sizes}.")
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
