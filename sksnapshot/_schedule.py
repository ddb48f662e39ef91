"""Cosine annealing with warm restarts, as pure functions and as a Keras schedule.

The schedule of a snapshot ensemble (Huang et al. 2017) is SGDR's cosine annealing
(Loshchilov & Hutter 2017) with cycles of equal length: within a cycle of length ``T``
the learning rate at position ``t`` (counted from the cycle's start) is

    lr(t) = min_lr + (max_lr - min_lr) / 2 * (1 + cos(pi * t / T)),

so every cycle starts at ``max_lr`` and ends just above ``min_lr``, where a snapshot is
taken. Everything here works in *units*: training steps (``lr_update="batch"``) or epochs
(``lr_update="epoch"``).
"""

import keras
import numpy as np
from keras import ops

__all__ = [
    "SnapshotLearningRateSchedule",
    "cosine_annealing",
    "cycle_lengths",
    "simulate_learning_rates",
]


def cycle_lengths(n_units, n_cycles):
    """Split ``n_units`` training units into ``n_cycles`` contiguous cycles.

    When ``n_units`` is not a multiple of ``n_cycles``, the first ``n_units % n_cycles``
    cycles are one unit longer than the others (the convention of ``numpy.array_split``),
    so the lengths always sum to ``n_units`` exactly and differ by at most one unit.

    Parameters
    ----------
    n_units : int
        Number of training steps (or epochs) in the whole run.
    n_cycles : int
        Number of cycles, hence of snapshots.

    Returns
    -------
    lengths : ndarray of shape (n_cycles,), dtype int64
        Length of every cycle, in units.

    Raises
    ------
    ValueError
        If ``n_cycles`` is larger than ``n_units`` (a cycle would be empty).

    Examples
    --------
    >>> cycle_lengths(10, 3).tolist()
    [4, 3, 3]
    """
    n_units, n_cycles = int(n_units), int(n_cycles)
    if n_cycles < 1:
        raise ValueError(f"n_cycles must be at least 1, got {n_cycles}.")
    if n_cycles > n_units:
        raise ValueError(
            f"n_cycles={n_cycles} is larger than the number of training units ({n_units}): "
            "every cycle needs at least one unit. Lower n_cycles or train for more "
            "epochs."
        )
    q, r = divmod(n_units, n_cycles)
    return np.array([q + 1] * r + [q] * (n_cycles - r), dtype=np.int64)


def cosine_annealing(t, cycle_length, max_learning_rate, min_learning_rate=0.0):
    """Learning rate at position ``t`` of a cosine cycle of length ``cycle_length``.

    ``lr(t) = min + (max - min) / 2 * (1 + cos(pi * t / T))``; vectorised over ``t`` and
    ``cycle_length``.

    Examples
    --------
    >>> float(cosine_annealing(0, 50, 0.01))
    0.01
    >>> float(cosine_annealing(25, 50, 0.01))
    0.005
    """
    t = np.asarray(t, dtype=np.float64)
    cycle_length = np.asarray(cycle_length, dtype=np.float64)
    cos = np.cos(np.pi * t / cycle_length)
    return min_learning_rate + (max_learning_rate - min_learning_rate) / 2 * (1 + cos)


def simulate_learning_rates(n_units, n_cycles, max_learning_rate, min_learning_rate=0.0):
    """The whole learning-rate sequence of a run and its snapshot units, without training.

    Parameters
    ----------
    n_units : int
        Number of training steps (``lr_update="batch"``) or epochs (``"epoch"``).
    n_cycles : int
        Number of cosine cycles; see :func:`cycle_lengths` for uneven splits.
    max_learning_rate : float
        Rate at the start of every cycle.
    min_learning_rate : float, default=0.0
        Rate every cycle anneals towards.

    Returns
    -------
    rates : ndarray of shape (n_units,)
        The rate used at every unit.
    snapshot_units : ndarray of shape (n_cycles,)
        Index of the last unit of every cycle: the snapshot is taken after it.

    Examples
    --------
    >>> rates, ends = simulate_learning_rates(6, 2, 1.0)
    >>> ends.tolist()
    [2, 5]
    >>> rates[[0, 3]].tolist()
    [1.0, 1.0]
    """
    lengths = cycle_lengths(n_units, n_cycles)
    position = np.concatenate([np.arange(length) for length in lengths])
    rates = cosine_annealing(
        position, np.repeat(lengths, lengths), max_learning_rate, min_learning_rate
    )
    return rates, np.cumsum(lengths) - 1


@keras.saving.register_keras_serializable(package="sksnapshot")
class SnapshotLearningRateSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Keras schedule that replays :func:`simulate_learning_rates` step by step.

    The rates are computed once with the pure function and looked up by the optimizer's
    step counter, so training uses exactly the simulated values. With
    ``steps_per_unit > 1`` (``lr_update="epoch"``), the rate stays constant within each
    group of ``steps_per_unit`` steps (one epoch).

    Parameters
    ----------
    n_units, n_cycles, max_learning_rate, min_learning_rate
        As in :func:`simulate_learning_rates`.
    steps_per_unit : int, default=1
        Optimizer steps per unit: 1 for per-step updates, the steps of one epoch for
        per-epoch updates.
    """

    def __init__(
        self, n_units, n_cycles, max_learning_rate, min_learning_rate=0.0, steps_per_unit=1
    ):
        self.n_units = int(n_units)
        self.n_cycles = int(n_cycles)
        self.max_learning_rate = float(max_learning_rate)
        self.min_learning_rate = float(min_learning_rate)
        self.steps_per_unit = int(steps_per_unit)
        rates, _ = simulate_learning_rates(
            self.n_units, self.n_cycles, self.max_learning_rate, self.min_learning_rate
        )
        self.rates = rates
        self._table = ops.convert_to_tensor(rates.astype("float32"))

    @property
    def n_steps(self):
        """Number of optimizer steps the schedule covers."""
        return self.n_units * self.steps_per_unit

    def __call__(self, step):
        unit = ops.floor_divide(ops.cast(step, "int64"), self.steps_per_unit)
        # Past the end of the run (never reached by our training loop) keep the last rate.
        unit = ops.minimum(unit, self.n_units - 1)
        return ops.take(self._table, unit)

    def get_config(self):
        return {
            "n_units": self.n_units,
            "n_cycles": self.n_cycles,
            "max_learning_rate": self.max_learning_rate,
            "min_learning_rate": self.min_learning_rate,
            "steps_per_unit": self.steps_per_unit,
        }
