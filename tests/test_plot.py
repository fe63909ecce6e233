"""dlbook.plot's helpers that draw nothing (the figures are tested in test_plot_explore.py)."""

import numpy as np
import pytest
import torch

from dlbook import plot


def test_moving_average_is_the_mean_of_the_last_window_values():
    values = [1.0, 3.0, 5.0, 7.0, 9.0]
    expected = [1.0, 2.0, 3.0, 5.0, 7.0]  # fewer than 3 values at the start
    assert plot.moving_average(values, 3).tolist() == expected
    assert plot.moving_average(torch.tensor(values), 3).tolist() == expected
    assert plot.moving_average(values, 1).tolist() == values
    assert plot.moving_average(values, 10).tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_moving_average_matches_a_plain_loop():
    values = np.random.default_rng(0).normal(size=50)
    loop = [values[max(0, i - 6) : i + 1].mean() for i in range(len(values))]
    assert np.allclose(plot.moving_average(values, 7), loop)


@pytest.mark.parametrize("window", [0, -1, 2.5, "3"])
def test_moving_average_needs_a_positive_integer_window(window):
    with pytest.raises(ValueError, match="window must be a positive integer"):
        plot.moving_average([1.0, 2.0], window)
