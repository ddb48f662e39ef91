"""The learning-rate schedule, tested without training."""

import math

import numpy as np
import pytest

from sksnapshot import (
    SnapshotLearningRateSchedule,
    cosine_annealing,
    cycle_lengths,
    simulate_learning_rates,
)


def test_cosine_annealing_formula():
    for t in range(10):
        expected = 0.001 + (0.1 - 0.001) / 2 * (1 + math.cos(math.pi * t / 10))
        assert cosine_annealing(t, 10, 0.1, 0.001) == pytest.approx(expected)


def test_cycle_lengths_even_and_uneven():
    assert cycle_lengths(500, 10).tolist() == [50] * 10
    lengths = cycle_lengths(23, 5)
    assert lengths.sum() == 23
    assert lengths.tolist() == [5, 5, 5, 4, 4]


@pytest.mark.parametrize("n_cycles", [0, 11])
def test_cycle_lengths_rejects_bad_counts(n_cycles):
    with pytest.raises(ValueError, match="n_cycles"):
        cycle_lengths(10, n_cycles)


def test_rates_restart_at_every_cycle_start_and_end_low():
    rates, ends = simulate_learning_rates(500, 10, 0.01)
    assert ends.tolist() == [49 + 50 * k for k in range(10)]
    starts = np.r_[0, ends[:-1] + 1]
    np.testing.assert_allclose(rates[starts], 0.01)
    # The last unit of a cycle is at t = T - 1: just above the minimum.
    expected_end = 0.01 / 2 * (1 + math.cos(math.pi * 49 / 50))
    np.testing.assert_allclose(rates[ends], expected_end)
    assert rates[ends].max() < 0.01 * 0.001
    # Monotone decrease within each cycle.
    for start, end in zip(starts, ends, strict=True):
        assert np.all(np.diff(rates[start : end + 1]) < 0)


def test_rates_with_min_learning_rate_and_uneven_cycles():
    rates, ends = simulate_learning_rates(23, 5, 0.2, 0.02)
    assert len(rates) == 23
    assert ends.tolist() == [4, 9, 14, 18, 22]
    assert rates.min() >= 0.02
    np.testing.assert_allclose(rates[[0, 5, 10, 15, 19]], 0.2)


def test_keras_schedule_replays_the_rates_step_by_step():
    rates, _ = simulate_learning_rates(20, 4, 0.1, 0.01)
    schedule = SnapshotLearningRateSchedule(rates)
    got = np.array([float(schedule(step)) for step in range(20)])
    np.testing.assert_allclose(got, rates, rtol=1e-6)


def test_keras_schedule_per_epoch_holds_the_rate_within_an_epoch():
    rates, _ = simulate_learning_rates(6, 2, 0.1)
    schedule = SnapshotLearningRateSchedule(rates, steps_per_unit=4)
    got = np.array([float(schedule(step)) for step in range(24)])
    np.testing.assert_allclose(got, np.repeat(rates, 4), rtol=1e-6)
    assert schedule.n_steps == 24


def test_keras_schedule_serialises():
    import keras

    rates, _ = simulate_learning_rates(30, 3, 0.05, 0.001)
    schedule = SnapshotLearningRateSchedule(rates, steps_per_unit=2)
    config = keras.saving.serialize_keras_object(schedule)
    restored = keras.saving.deserialize_keras_object(config)
    assert restored.steps_per_unit == 2
    np.testing.assert_array_equal(restored.rates, schedule.rates)


# -- the schedule family ---------------------------------------------------------------


def test_triangular_falls_linearly_and_restarts():
    rates, ends = simulate_learning_rates(20, 2, 0.1, 0.01, schedule="triangular")
    assert ends.tolist() == [9, 19]
    first = 0.1 - (0.1 - 0.01) * np.arange(10) / 10
    np.testing.assert_allclose(rates[:10], first)
    np.testing.assert_allclose(rates[10:], first)
    assert np.all(np.diff(rates[:10]) < 0)


@pytest.mark.parametrize("mult", [1.5, 2.0, 0.5])
def test_growing_cycles_sum_exactly_and_grow_by_the_factor(mult):
    lengths = cycle_lengths(1000, 4, cycle_length_mult=mult)
    assert lengths.sum() == 1000
    ideal = 1000 * mult ** np.arange(4) / sum(mult**k for k in range(4))
    assert np.all(np.abs(lengths - ideal) < 1)  # rounding moves each by less than a unit
    rates, ends = simulate_learning_rates(1000, 4, 0.1, cycle_length_mult=mult)
    np.testing.assert_array_equal(ends, np.cumsum(lengths) - 1)
    starts = np.r_[0, ends[:-1] + 1]
    np.testing.assert_allclose(rates[starts], 0.1)


def test_cycle_lengths_largest_remainder_rounding():
    # shares 10 * [1, 2, 4] / 7 = [1.43, 2.86, 5.71]: floors [1, 2, 5], two units left
    # go to the largest fractional parts (0.86 and 0.71).
    assert cycle_lengths(10, 3, cycle_length_mult=2.0).tolist() == [1, 3, 6]


def test_growth_that_empties_a_cycle_is_refused():
    with pytest.raises(ValueError, match="cycle_length_mult=10.0 leaves cycle 0"):
        cycle_lengths(20, 3, cycle_length_mult=10.0)


def test_peak_decay():
    rates, ends = simulate_learning_rates(30, 3, 0.1, 0.001, max_learning_rate_decay=0.5)
    starts = np.r_[0, ends[:-1] + 1]
    np.testing.assert_allclose(rates[starts], [0.1, 0.05, 0.025])
    # A peak never drops below the minimum rate.
    rates, _ = simulate_learning_rates(30, 3, 0.1, 0.05, max_learning_rate_decay=0.1)
    assert rates.min() >= 0.05 - 1e-12


def test_callable_schedule_gets_step_length_and_index():
    calls = []

    def shape(t, T, c):
        calls.append((t, T, c))
        return 0.1 * (c + 1) * (1 - t / T)

    rates, ends = simulate_learning_rates(7, 2, 0.5, schedule=shape)
    assert calls[:5] == [(0, 4, 0), (1, 4, 0), (2, 4, 0), (3, 4, 0), (0, 3, 1)]
    assert ends.tolist() == [3, 6]
    assert rates[4] == pytest.approx(0.2)


def test_callable_schedule_must_return_valid_rates():
    with pytest.raises(ValueError, match="finite, non-negative"):
        simulate_learning_rates(5, 1, 0.1, schedule=lambda t, T, c: -1.0)
