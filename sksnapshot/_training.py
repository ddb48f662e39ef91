"""The training run: a seeded stream of mini-batches, trained one Keras epoch per cycle.

Keras pays a fixed cost per epoch (~25 ms on numpy input) and per call of its compiled
train step. A snapshot run therefore feeds Keras a ``tf.data`` stream that holds *all*
its mini-batches, declares one Keras epoch per cosine cycle (so ``on_epoch_end`` is a
cycle end, where the snapshot is taken) and runs many steps per compiled call
(``steps_per_execution``). The data epochs inside the stream are still reshuffled every
pass, exactly as with ``Model.fit(shuffle=True)``.
"""

import math

import numpy as np
import tensorflow as tf

__all__ = [
    "batch_stream",
    "cycle_groups",
    "execution_size",
    "split_validation",
    "steps_per_epoch",
]


def steps_per_epoch(n_samples, batch_size):
    """Number of mini-batches in one pass over ``n_samples`` rows (the last may be short)."""
    return math.ceil(n_samples / batch_size)


def batch_stream(arrays, *, batch_size, start_step, n_steps, seed, shuffle=True):
    """A ``tf.data.Dataset`` of ``n_steps`` mini-batches, starting at global step ``start_step``.

    Data epoch ``e`` visits the rows in the order of a stateless shuffle seeded with
    ``(seed, e)``, cut into batches of ``batch_size`` (the last one short). Because every
    epoch's order is a pure function of ``(seed, e)``, the stream can begin at any step
    without replaying the earlier ones, and two streams with the same seed are identical.

    Parameters
    ----------
    arrays : tuple of ndarray
        Arrays with the same number of rows (X, y and optionally sample weights).
    batch_size : int
        Rows per mini-batch.
    start_step, n_steps : int
        First global step of the stream and number of steps it yields.
    seed : int
        Seed of the per-epoch shuffles.
    shuffle : bool, default=True
        If False, every epoch visits the rows in their given order.
    """
    n_rows = len(arrays[0])
    per_epoch = steps_per_epoch(n_rows, batch_size)
    first_epoch, offset = divmod(start_step, per_epoch)
    end_epoch = math.ceil((start_step + n_steps) / per_epoch)
    tensors = tuple(tf.constant(a) for a in arrays)
    seed = int(seed) % (2**31 - 1)

    def epoch_order(epoch):
        rows = tf.range(n_rows, dtype=tf.int64)
        if shuffle:
            rows = tf.random.experimental.stateless_shuffle(
                rows, seed=tf.stack([tf.constant(seed, tf.int64), epoch])
            )
        return tf.data.Dataset.from_tensor_slices(rows).batch(batch_size)

    def gather(rows):
        return tuple(tf.gather(t, rows) for t in tensors)

    stream = tf.data.Dataset.range(first_epoch, end_epoch).flat_map(epoch_order)
    stream = stream.skip(offset).take(n_steps)
    return stream.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def cycle_groups(step_lengths):
    """Group consecutive cycles of equal length: ``[(first_cycle, n_cycles, length), ...]``.

    Keras runs epochs of one fixed number of steps, so each group is one ``Model.fit``
    call with one epoch per cycle. :func:`~sksnapshot._schedule.cycle_lengths` yields at
    most two groups.
    """
    groups = []
    for index, length in enumerate(int(v) for v in step_lengths):
        if groups and groups[-1][2] == length:
            first, count, _ = groups[-1]
            groups[-1] = (first, count + 1, length)
        else:
            groups.append((index, 1, length))
    return groups


def execution_size(cycle_steps, cap=256, floor=16):
    """Steps per compiled call (``steps_per_execution``) for cycles of ``cycle_steps`` steps.

    Keras' compiled call must not cross a cycle end (it would run into the next cycle
    before the snapshot), so the size divides ``cycle_steps``: the largest divisor not
    above ``cap``. When that divisor is below ``floor`` (a prime cycle length, say), one
    call runs the whole cycle instead; progress is then reported once per cycle.
    """
    best = max(d for d in range(1, min(cap, cycle_steps) + 1) if cycle_steps % d == 0)
    return best if best >= floor or best == cycle_steps else cycle_steps


def split_validation(arrays, validation_split):
    """Split off the last ``validation_split`` fraction of rows, as ``Model.fit`` does."""
    if not validation_split:
        return arrays, None
    n_rows = len(arrays[0])
    n_train = int(n_rows * (1.0 - validation_split))
    if n_train < 1 or n_train == n_rows:
        raise ValueError(
            f"validation_split={validation_split} leaves {n_train} of {n_rows} rows for "
            "training and the rest for validation: both parts need at least one row."
        )
    train = tuple(np.asarray(a[:n_train]) for a in arrays)
    valid = tuple(np.asarray(a[n_train:]) for a in arrays)
    return train, valid
