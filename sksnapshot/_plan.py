"""The training plan: everything a fit decides before it trains, worked out once.

:func:`split_sizes` says how many of the rows given to ``fit`` are trained on, held out
for ``n_members="auto"`` and kept for ``validation_split``; the splits themselves
(:func:`holdout_split`, :func:`validation_split`) cut exactly those counts.
:func:`plan_training` turns the schedule parameters and the number of training rows into
a :class:`TrainingPlan`: batch size, steps per epoch, the rate of every step, the cycle
boundaries and the snapshot positions. ``fit``, ``simulate_learning_rates`` and
``LearningRateDisplay.from_params`` all read the same plan. Pure functions, no Keras.
"""

import math
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from ._schedule import simulate_learning_rates

__all__ = [
    "TrainingPlan",
    "holdout_split",
    "plan_training",
    "split_sizes",
    "steps_per_epoch",
    "validation_split",
]


def steps_per_epoch(n_samples, batch_size):
    """Number of mini-batches in one pass over ``n_samples`` rows (the last may be short)."""
    return math.ceil(n_samples / batch_size)


def split_sizes(n_samples, holdout_fraction=0.0, validation_split=0.0):
    """Rows trained on, held out (``n_members="auto"``) and kept for validation.

    The held-out rows are ``ceil(holdout_fraction * n_samples)`` (as
    ``train_test_split``); ``validation_split`` then keeps the last
    ``n - int(n * (1 - validation_split))`` of the remaining ``n`` rows (as Keras).

    Returns
    -------
    n_train, n_holdout, n_validation : int

    Examples
    --------
    >>> split_sizes(100, holdout_fraction=0.1, validation_split=0.2)
    (72, 10, 18)
    """
    n_holdout = math.ceil(holdout_fraction * n_samples) if holdout_fraction else 0
    rest = n_samples - n_holdout
    n_train = int(rest * (1.0 - validation_split)) if validation_split else rest
    return n_train, n_holdout, rest - n_train


def holdout_split(arrays, n_holdout, seed, stratify=False):
    """Split ``n_holdout`` rows off ``arrays`` at random (stratified on ``arrays[1]``).

    Returns the kept and the held-out arrays, each a tuple in the order of ``arrays``.
    """
    labels = np.asarray(arrays[1]).reshape(len(arrays[1]), -1)[:, 0] if stratify else None
    parts = train_test_split(*arrays, test_size=n_holdout, stratify=labels, random_state=seed)
    return tuple(parts[0::2]), tuple(parts[1::2])


def validation_split(arrays, fraction):
    """Split off the last ``fraction`` of rows, as ``Model.fit(validation_split=...)``."""
    if not fraction:
        return arrays, None
    n_rows = len(arrays[0])
    n_train, _, _ = split_sizes(n_rows, validation_split=fraction)
    if n_train < 1 or n_train == n_rows:
        raise ValueError(
            f"validation_split={fraction} leaves {n_train} of {n_rows} rows for "
            "training and the rest for validation: both parts need at least one row."
        )
    train = tuple(np.asarray(a[:n_train]) for a in arrays)
    valid = tuple(np.asarray(a[n_train:]) for a in arrays)
    return train, valid


@dataclass(frozen=True)
class TrainingPlan:
    """What one fit trains: fixed before the first step.

    Attributes
    ----------
    n_rows : int
        Rows trained on.
    batch_size : int
        Rows per step (the last batch of an epoch may be shorter).
    steps_per_epoch : int
        Steps in one pass over the rows.
    epochs : int
        Passes over the rows.
    steps_per_unit : int
        Steps per schedule unit: 1 with ``lr_update="batch"``, ``steps_per_epoch`` with
        ``"epoch"``.
    unit_rates : ndarray of shape (n_units,)
        The rate of every unit (the estimator's ``learning_rates_``).
    snapshot_units : ndarray of shape (n_cycles,)
        Index of the unit after which each cycle's snapshot is taken.
    """

    n_rows: int
    batch_size: int
    steps_per_epoch: int
    epochs: int
    steps_per_unit: int
    unit_rates: np.ndarray
    snapshot_units: np.ndarray

    @property
    def step_rates(self):
        """The rate of every step: ndarray of shape (n_steps,)."""
        return np.repeat(self.unit_rates, self.steps_per_unit)

    @property
    def snapshot_steps(self):
        """Steps done when each snapshot is taken (the cycles' cumulative ends)."""
        return (self.snapshot_units + 1) * self.steps_per_unit

    @property
    def cycle_steps(self):
        """Steps of every cycle."""
        return np.diff(np.r_[0, self.snapshot_steps])


def plan_training(
    n_rows,
    *,
    epochs,
    batch_size,
    n_cycles,
    max_learning_rate,
    min_learning_rate=0.0,
    lr_update="batch",
    schedule="cosine",
    cycle_length_mult=1.0,
    max_learning_rate_decay=1.0,
):
    """The :class:`TrainingPlan` of a fit on ``n_rows`` training rows.

    ``batch_size`` ``None`` means 32 and ``-1`` all rows; it is capped at ``n_rows``.
    The other parameters are the estimators' (see :func:`simulate_learning_rates`).

    Raises
    ------
    ValueError
        If there are fewer steps (or epochs, with ``lr_update="epoch"``) than cycles.

    Examples
    --------
    >>> plan = plan_training(100, epochs=2, batch_size=32, n_cycles=2, max_learning_rate=0.1)
    >>> plan.steps_per_epoch, plan.cycle_steps.tolist(), plan.snapshot_units.tolist()
    (4, [4, 4], [3, 7])
    """
    n_rows, epochs = int(n_rows), int(epochs)
    batch_size = 32 if batch_size is None else int(batch_size)
    batch_size = n_rows if batch_size == -1 else min(batch_size, n_rows)
    per_epoch = steps_per_epoch(n_rows, batch_size)
    if lr_update == "batch":
        n_units, steps_per_unit, unit = epochs * per_epoch, 1, "training steps"
    else:
        n_units, steps_per_unit, unit = epochs, per_epoch, "epochs"
    if n_cycles > n_units:
        raise ValueError(
            f"n_cycles={n_cycles} is larger than the number of {unit} ({n_units}: "
            f"{epochs} epochs of {per_epoch} batches of {batch_size} from {n_rows} "
            "rows); every cycle needs at least one. Lower n_cycles or raise epochs."
        )
    rates, snapshot_units = simulate_learning_rates(
        n_units,
        n_cycles,
        max_learning_rate,
        min_learning_rate,
        schedule=schedule,
        cycle_length_mult=cycle_length_mult,
        max_learning_rate_decay=max_learning_rate_decay,
    )
    return TrainingPlan(
        n_rows=n_rows,
        batch_size=batch_size,
        steps_per_epoch=per_epoch,
        epochs=epochs,
        steps_per_unit=steps_per_unit,
        unit_rates=rates,
        snapshot_units=snapshot_units,
    )
