"""The training run: seeded mini-batches, one Keras epoch per cycle, many steps per call.

Keras pays a fixed cost per epoch (~25 ms on numpy input) and per call of its compiled
train step. A snapshot run therefore declares one Keras *epoch per cosine cycle* (so
``on_epoch_end`` is a cycle end, where the snapshot is taken) and runs many steps per
compiled call (:class:`~sksnapshot._program.TrainingProgram`, ``execution_size`` steps
at a time) with :func:`run_cycles` in place of ``Model.fit``: the same callbacks, progress
bar, history and validation, without Keras' per-step input pipeline. The data epochs
are still reshuffled every pass, exactly as with ``Model.fit(shuffle=True)``: every
epoch's row order is :func:`epoch_order`, a pure function of ``(seed, epoch)``;
:func:`batch_stream` is the same sequence of mini-batches as a ``tf.data`` stream.
"""

import math

import keras
import numpy as np
import tensorflow as tf

__all__ = [
    "batch_stream",
    "cycle_groups",
    "epoch_order",
    "execution_size",
    "run_cycles",
    "split_validation",
    "steps_per_epoch",
]


def steps_per_epoch(n_samples, batch_size):
    """Number of mini-batches in one pass over ``n_samples`` rows (the last may be short)."""
    return math.ceil(n_samples / batch_size)


def epoch_order(n_rows, seed, epoch, shuffle=True):
    """Row order of data epoch ``epoch``: a stateless shuffle seeded with ``(seed, epoch)``.

    A TensorFlow function of its arguments (usable inside a compiled function); with
    ``shuffle`` False the rows keep their order. Returns an int64 tensor of ``n_rows``.
    """
    rows = tf.range(tf.cast(n_rows, tf.int64), dtype=tf.int64)
    seed = tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.cond(
        tf.cast(shuffle, tf.bool),
        lambda: tf.random.experimental.stateless_shuffle(rows, seed=seed),
        lambda: rows,
    )


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

    def epoch_batches(epoch):
        rows = epoch_order(n_rows, seed, epoch, shuffle)
        return tf.data.Dataset.from_tensor_slices(rows).batch(batch_size)

    def gather(rows):
        return tuple(tf.gather(t, rows) for t in tensors)

    stream = tf.data.Dataset.range(first_epoch, end_epoch).flat_map(epoch_batches)
    stream = stream.skip(offset).take(n_steps)
    return stream.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def cycle_groups(step_lengths):
    """Group consecutive cycles of equal length: ``[(first_cycle, n_cycles, length), ...]``.

    Keras' ``Model.fit`` runs epochs of one fixed number of steps, so where it trains
    (under a ``tf.distribute`` strategy) each group is one call with one epoch per
    cycle. :func:`~sksnapshot._schedule.cycle_lengths` yields at most two groups.
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


def run_cycles(
    model,
    program,
    arrays,
    *,
    step_rates,
    step_lengths,
    batch_size,
    seed,
    shuffle=True,
    callbacks=(),
    verbose=0,
    first_cycle=0,
    validation_data=None,
    validation_batch_size=None,
):
    """Train ``model`` through its cycles, one Keras epoch per cycle, as ``Model.fit`` would.

    Callbacks see what ``Model.fit`` shows them with ``steps_per_execution``:
    ``on_train_begin``, then per cycle ``on_epoch_begin``, ``on_train_batch_begin`` and
    ``on_train_batch_end`` around every compiled call, the validation scores (``val_``
    logs, computed with ``Model.evaluate``) and ``on_epoch_end``; ``on_train_end`` last.
    Setting ``model.stop_training`` ends the run after the current call, at the end of
    that cycle's bookkeeping, as in Keras.

    Parameters
    ----------
    model : keras.Model
        The compiled model being trained (callbacks see it, validation uses it).
    program : callable
        A :class:`~sksnapshot._program.TrainingProgram` (or a binding of one) that
        trains ``model``.
    arrays : tuple of ndarray
        Training x, y and optionally sample weights.
    step_rates : ndarray of shape (n_steps,)
        Learning rate of every step.
    step_lengths : sequence of int
        Steps of every cycle; they sum to ``n_steps``.
    batch_size, seed, shuffle :
        Mini-batches of ``batch_size`` rows; epoch ``e`` visits the rows in
        :func:`epoch_order` ``(seed, e)``.
    callbacks : list of keras.callbacks.Callback
    verbose : int
        Keras progress display (a progress bar per cycle).
    first_cycle : int
        Number of the first cycle as Keras epochs count (continued training).
    validation_data : tuple of ndarray or None
        Scored at every cycle end.
    validation_batch_size : int or None

    Returns
    -------
    history : dict of list
        Logs of every cycle, as ``History.history``.
    """
    step_lengths = [int(v) for v in step_lengths]
    tensors = tuple(tf.constant(a) for a in arrays)
    rates = tf.constant(np.asarray(step_rates, dtype=np.float32))
    seed = int(seed) % (2**31 - 1)
    learning_rate = model.optimizer.learning_rate
    history = keras.callbacks.History()
    callbacks = keras.callbacks.CallbackList(
        [*callbacks, history],
        add_progbar=verbose != 0,
        model=model,
        verbose=verbose,
        epochs=first_cycle + len(step_lengths),
        steps=step_lengths[0],
    )
    model.stop_training = False
    order = tf.zeros((0,), tf.int64)
    step = 0
    logs = {}
    callbacks.on_train_begin()
    for cycle, length in enumerate(step_lengths):
        if length != callbacks.params["steps"]:
            callbacks.set_params({**callbacks.params, "steps": length})
        program.reset_metrics()
        callbacks.on_epoch_begin(first_cycle + cycle)
        size = execution_size(length)
        for begin in range(0, length, size):
            callbacks.on_train_batch_begin(begin)
            logs, order = program(tensors, rates, order, seed, step, size, batch_size, shuffle)
            step += size
            # As a schedule would: the optimizer shows the rate of the next step.
            learning_rate.assign(step_rates[min(step, len(step_rates) - 1)])
            callbacks.on_train_batch_end(begin + size - 1, logs)
            if model.stop_training:
                break
        epoch_logs = dict(logs)
        if validation_data is not None:
            val_logs = model.evaluate(
                *validation_data,
                batch_size=validation_batch_size,
                callbacks=callbacks,
                verbose=0,
                return_dict=True,
            )
            epoch_logs.update({f"val_{name}": value for name, value in val_logs.items()})
        callbacks.on_epoch_end(first_cycle + cycle, epoch_logs)
        logs = epoch_logs
        if model.stop_training:
            break
    callbacks.on_train_end(logs)
    return history.history
