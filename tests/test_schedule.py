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


def test_keras_schedule_replays_the_pure_function():
    schedule = SnapshotLearningRateSchedule(20, 4, 0.1, 0.01)
    rates, _ = simulate_learning_rates(20, 4, 0.1, 0.01)
    got = np.array([float(schedule(step)) for step in range(20)])
    np.testing.assert_allclose(got, rates, rtol=1e-6)


def test_keras_schedule_per_epoch_holds_the_rate_within_an_epoch():
    schedule = SnapshotLearningRateSchedule(6, 2, 0.1, steps_per_unit=4)
    rates, _ = simulate_learning_rates(6, 2, 0.1)
    got = np.array([float(schedule(step)) for step in range(24)])
    np.testing.assert_allclose(got, np.repeat(rates, 4), rtol=1e-6)
    assert schedule.n_steps == 24


def test_keras_schedule_serialises():
    import keras

    schedule = SnapshotLearningRateSchedule(30, 3, 0.05, 0.001, steps_per_unit=2)
    config = keras.saving.serialize_keras_object(schedule)
    restored = keras.saving.deserialize_keras_object(config)
    assert restored.get_config() == schedule.get_config()
    np.testing.assert_array_equal(restored.rates, schedule.rates)
