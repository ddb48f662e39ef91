"""Cosine annealing with warm restarts, as pure functions and as a Keras schedule.

The schedule of a snapshot ensemble (Huang et al. 2017) is SGDR's cosine annealing
(Loshchilov & Hutter 2017) with cycles of equal length: within a cycle of length ``T``
the learning rate at position ``t`` (counted from the cycle's start) is

    lr(t) = min_lr + (max_lr - min_lr) / 2 * (1 + cos(pi * t / T)),

so every cycle starts at ``max_lr`` and ends just above ``min_lr``, where a snapshot is
taken. The family extends it with Smith's linear (triangular) cycles, SGDR's growing
cycles (``T_mult``) and decaying peaks (``m_mul``), and any callable. Everything here
works in *units*: training steps (``lr_update="batch"``) or epochs (``"epoch"``).
"""

import keras
import numpy as np
from keras import ops

__all__ = [
    "SnapshotLearningRateSchedule",
    "cosine_annealing",
    "cycle_lengths",
    "simulate_learning_rates",
    "triangular",
]


def cycle_lengths(n_units, n_cycles, cycle_length_mult=1.0):
    """Split ``n_units`` training units into ``n_cycles`` contiguous cycles.

    Cycle ``c`` gets the share ``cycle_length_mult ** c / sum_j cycle_length_mult ** j``
    of the budget (SGDR's ``T_mult``: each cycle that many times longer than the one
    before; 1.0 gives equal cycles). The shares are rounded by the largest-remainder
    method: every cycle gets the floor of its share and the units left over go, one each,
    to the cycles with the largest fractional parts (earlier cycles first on ties). So the
    lengths always sum to ``n_units`` exactly; with equal cycles the first
    ``n_units % n_cycles`` cycles are one unit longer (as ``numpy.array_split``).

    Parameters
    ----------
    n_units : int
        Number of training steps (or epochs) in the whole run.
    n_cycles : int
        Number of cycles, hence of snapshots.
    cycle_length_mult : float, default=1.0
        Ratio of each cycle's length to the previous one's.

    Returns
    -------
    lengths : ndarray of shape (n_cycles,), dtype int64
        Length of every cycle, in units.

    Raises
    ------
    ValueError
        If a cycle would be empty (``n_cycles`` larger than ``n_units``, or a growth
        factor so large that the first cycles round to zero units).

    Examples
    --------
    >>> cycle_lengths(10, 3).tolist()
    [4, 3, 3]
    >>> cycle_lengths(70, 3, cycle_length_mult=2.0).tolist()
    [10, 20, 40]
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
    if cycle_length_mult == 1.0:  # exact integer arithmetic for the common case
        q, r = divmod(n_units, n_cycles)
        return np.array([q + 1] * r + [q] * (n_cycles - r), dtype=np.int64)
    weights = float(cycle_length_mult) ** np.arange(n_cycles, dtype=np.float64)
    shares = n_units * weights / weights.sum()
    lengths = np.floor(shares).astype(np.int64)
    leftover = n_units - int(lengths.sum())
    # Largest fractional parts first; a stable sort keeps earlier cycles first on ties.
    order = np.argsort(-(shares - lengths), kind="stable")
    lengths[order[:leftover]] += 1
    if lengths.min() < 1:
        raise ValueError(
            f"cycle_length_mult={cycle_length_mult} leaves cycle {int(np.argmin(lengths))} "
            f"of {n_cycles} without any of the {n_units} training units. Lower "
            "cycle_length_mult or n_cycles, or train for more epochs."
        )
    return lengths


def cosine_annealing(t, cycle_length, max_learning_rate, min_learning_rate=0.0):
    """Learning rate at position ``t`` of a cosine cycle of length ``cycle_length``.

    ``lr(t) = min + (max - min) / 2 * (1 + cos(pi * t / T))``; vectorised over all
    arguments.

    Parameters
    ----------
    t : float or array-like
        Position in the cycle, counted from its start (0 <= t < cycle_length).
    cycle_length : float or array-like
        Length ``T`` of the cycle, in units (steps or epochs).
    max_learning_rate : float or array-like
        Rate at the start of the cycle.
    min_learning_rate : float or array-like, default=0.0
        Rate the cycle anneals towards.

    Returns
    -------
    rate : ndarray of float64
        The learning rate at ``t`` (a 0-d array for scalar arguments).

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
    return min_learning_rate + (np.asarray(max_learning_rate) - min_learning_rate) / 2 * (1 + cos)


def triangular(t, cycle_length, max_learning_rate, min_learning_rate=0.0):
    """Learning rate at position ``t`` of a linear (saw-tooth) cycle of length ``cycle_length``.

    Smith's cyclical rate, falling only: ``lr(t) = max - (max - min) * t / T``, so each
    cycle restarts at ``max`` and decreases linearly towards ``min``, where the snapshot
    is taken. Vectorised over all arguments.

    Parameters
    ----------
    t : float or array-like
        Position in the cycle, counted from its start (0 <= t < cycle_length).
    cycle_length : float or array-like
        Length ``T`` of the cycle, in units (steps or epochs).
    max_learning_rate : float or array-like
        Rate at the start of the cycle.
    min_learning_rate : float or array-like, default=0.0
        Rate the cycle decreases towards.

    Returns
    -------
    rate : ndarray of float64
        The learning rate at ``t`` (a 0-d array for scalar arguments).

    Examples
    --------
    >>> float(triangular(5, 10, 0.1))
    0.05
    """
    t = np.asarray(t, dtype=np.float64)
    cycle_length = np.asarray(cycle_length, dtype=np.float64)
    top = np.asarray(max_learning_rate, dtype=np.float64)
    return top - (top - min_learning_rate) * t / cycle_length


_SHAPES = {"cosine": cosine_annealing, "triangular": triangular}


def simulate_learning_rates(
    n_units,
    n_cycles,
    max_learning_rate,
    min_learning_rate=0.0,
    *,
    schedule="cosine",
    cycle_length_mult=1.0,
    max_learning_rate_decay=1.0,
):
    """The whole learning-rate sequence of a run and its snapshot units, without training.

    Parameters
    ----------
    n_units : int
        Number of training steps (``lr_update="batch"``) or epochs (``"epoch"``).
    n_cycles : int
        Number of cycles; see :func:`cycle_lengths` for how the units are split.
    max_learning_rate : float
        Rate at the start of the first cycle.
    min_learning_rate : float, default=0.0
        Rate every cycle anneals towards.
    schedule : {"cosine", "triangular"} or callable, default="cosine"
        Shape of a cycle: :func:`cosine_annealing`, :func:`triangular`, or a callable
        ``f(step_in_cycle, cycle_length, cycle_index) -> rate`` called once per unit
        with Python ints (it then sets the rate alone: ``max_learning_rate``,
        ``min_learning_rate`` and ``max_learning_rate_decay`` are not applied).
    cycle_length_mult : float, default=1.0
        SGDR's ``T_mult``: each cycle this many times longer than the previous one.
    max_learning_rate_decay : float, default=1.0
        SGDR's ``m_mul``: each cycle's peak is this factor times the previous peak
        (never below ``min_learning_rate``).

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
    lengths = cycle_lengths(n_units, n_cycles, cycle_length_mult)
    position = np.concatenate([np.arange(length) for length in lengths])
    length = np.repeat(lengths, lengths)
    index = np.repeat(np.arange(n_cycles), lengths)
    if callable(schedule):
        rates = np.array(
            [
                schedule(int(t), int(T), int(c))
                for t, T, c in zip(position, length, index, strict=True)
            ],
            dtype=np.float64,
        )
        if rates.shape != (int(n_units),) or not np.all(np.isfinite(rates)) or rates.min() < 0:
            raise ValueError(
                "schedule (a callable) must return one finite, non-negative learning rate per call."
            )
    else:
        if schedule not in _SHAPES:
            raise ValueError(
                f"schedule must be 'cosine', 'triangular' or a callable, got {schedule!r}."
            )
        peaks = max_learning_rate * float(max_learning_rate_decay) ** np.arange(n_cycles)
        peaks = np.maximum(peaks, min_learning_rate)
        rates = _SHAPES[schedule](position, length, peaks[index], min_learning_rate)
    return rates, np.cumsum(lengths) - 1


@keras.saving.register_keras_serializable(package="sksnapshot")
class SnapshotLearningRateSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Keras schedule that replays a precomputed rate sequence step by step.

    The rates come from :func:`simulate_learning_rates` and are looked up by the
    optimizer's step counter, so training uses exactly the simulated values. With
    ``steps_per_unit > 1`` (``lr_update="epoch"``), each rate holds for
    ``steps_per_unit`` consecutive steps (one epoch).

    Parameters
    ----------
    rates : array-like of shape (n_units,)
        Rate of every unit.
    steps_per_unit : int, default=1
        Optimizer steps per unit: 1 for per-step updates, the steps of one epoch for
        per-epoch updates.

    Examples
    --------
    >>> rates, _ = simulate_learning_rates(4, 2, 0.1)
    >>> schedule = SnapshotLearningRateSchedule(rates, steps_per_unit=3)
    >>> schedule.n_steps
    12
    """

    def __init__(self, rates, steps_per_unit=1):
        self.rates = np.asarray(rates, dtype=np.float64).reshape(-1)
        self.steps_per_unit = int(steps_per_unit)
        self._table = ops.convert_to_tensor(self.rates.astype("float32"))

    @property
    def n_steps(self):
        """Number of optimizer steps the schedule covers."""
        return len(self.rates) * self.steps_per_unit

    def __call__(self, step):
        unit = ops.floor_divide(ops.cast(step, "int64"), self.steps_per_unit)
        # Past the end of the run (never reached by our training loop) keep the last rate.
        unit = ops.minimum(unit, len(self.rates) - 1)
        return ops.take(self._table, unit)

    def get_config(self):
        """The arguments that rebuild the schedule (Keras serialization).

        Returns
        -------
        config : dict
            ``rates`` as a list of floats and ``steps_per_unit``.
        """
        return {"rates": self.rates.tolist(), "steps_per_unit": self.steps_per_unit}
