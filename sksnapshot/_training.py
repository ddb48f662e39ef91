"""The cycle driver: trains a built network through a training plan, one Keras epoch per cycle.

Keras pays a fixed cost per epoch (~25 ms on numpy input) and per call of its compiled
train step. A snapshot run therefore declares one Keras *epoch per cycle* (so
``on_epoch_end`` is a cycle end, where the snapshot is taken) and runs many steps per
compiled call (:class:`~sksnapshot._program.TrainingProgram`, ``execution_size`` steps
at a time) with :func:`run_cycles` in place of ``Model.fit``: the same callbacks, progress
bar, history and validation, without Keras' per-step input pipeline. Under a
``tf.distribute`` strategy, ``Model.fit`` runs the same mini-batches
(:func:`~sksnapshot._batches.batch_stream`). :func:`train_cycles` is the entry point.

Layers: :mod:`._plan` (what to train) and :mod:`._batches` (in which order) →
:mod:`._program` (the compiled steps) → this module → the estimators.
"""

import warnings
from contextlib import nullcontext

import keras
import numpy as np
import tensorflow as tf

from ._batches import batch_stream
from ._cache import program_key
from ._program import XLA_MAX_CALL_STEPS, XlaUnavailable, shared_program
from ._schedule import SnapshotLearningRateSchedule
from ._snapshots import SnapshotCallback
from ._tensorflow import released_graph_state

__all__ = ["cycle_groups", "execution_size", "run_cycles", "train_cycles"]


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
        size = min(execution_size(length), getattr(program, "max_call_steps", None) or length)
        for begin in range(0, length, size):
            n_steps = min(size, length - begin)
            callbacks.on_train_batch_begin(begin)
            logs, order = program(tensors, rates, order, seed, step, n_steps, batch_size, shuffle)
            step += n_steps
            # As a schedule would: the optimizer shows the rate of the next step.
            learning_rate.assign(step_rates[min(step, len(step_rates) - 1)])
            callbacks.on_train_batch_end(begin + n_steps - 1, logs)
            if model.stop_training:
                break
        epoch_logs = dict(logs)
        if validation_data is not None:
            x_valid, y_valid, *w_valid = validation_data
            val_logs = model.evaluate(
                x_valid,
                y_valid,
                sample_weight=w_valid[0] if w_valid else None,
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


def train_cycles(
    model,
    train,
    plan,
    *,
    seed,
    jit_compile="auto",
    seeded_context=None,
    shuffle=True,
    callbacks=(),
    verbose=0,
    first_cycle=0,
    validation_data=None,
    validation_batch_size=None,
    n_networks=1,
    failed_networks=(),
):
    """Train ``model`` through ``plan``'s cycles, taking a snapshot at every cycle end.

    On the default device the compiled training program runs the steps
    (:func:`run_cycles`). Under a ``tf.distribute`` strategy (a model built in a
    strategy's scope) Keras' ``Model.fit`` runs them, on the same mini-batch stream, one
    call per group of equal-length cycles.

    Parameters
    ----------
    model : keras.Model
        Built and compiled; trained in place.
    train : tuple of ndarray
        Training x, y and optionally sample weights (``plan.n_rows`` rows).
    plan : TrainingPlan
        Batch size, rates, cycle boundaries.
    seed : int
        Seed of the batch order (data epoch ``e`` is shuffled by ``(seed, e)``).
    jit_compile : {"auto", True, False}, default="auto"
        Train with the XLA-compiled program (:class:`~sksnapshot._program.
        XlaTrainingProgram`). ``"auto"`` falls back to the plain program, with a
        warning naming the reason, where XLA cannot be used; ``True`` raises there.
    seeded_context : context manager or None
        Entered around training (seeds TensorFlow's and Keras' generators).
    shuffle, callbacks, verbose, first_cycle, validation_data, validation_batch_size :
        As in :func:`run_cycles`.
    n_networks, failed_networks :
        Networks side by side in ``model`` and those that failed in an earlier fit
        (see :class:`~sksnapshot._snapshots.SnapshotCallback`).

    Returns
    -------
    snapshotter : SnapshotCallback
        Its ``snapshots``, ``history`` and ``stop_reason`` describe the run.
    """
    snapshotter = SnapshotCallback(plan.snapshot_steps, n_networks, failed_networks)
    # First, so that a finished cycle's snapshot is taken before any other callback.
    callbacks = [snapshotter, *callbacks]
    common = {
        "step_lengths": plan.cycle_steps,
        "batch_size": plan.batch_size,
        "seed": seed,
        "shuffle": shuffle,
        "callbacks": callbacks,
        "verbose": verbose,
        "first_cycle": first_cycle,
        "validation_data": validation_data,
        "validation_batch_size": validation_batch_size,
    }
    # A model built under a tf.distribute strategy (e.g. MirroredStrategy in the `model`
    # builder) is trained in that strategy's scope; otherwise this is the default
    # strategy, a no-op.
    strategy = model.distribute_strategy
    with (
        seeded_context or nullcontext(),
        released_graph_state(),
        strategy.scope(),
        snapshotter.interruptible(),
    ):
        if tf.distribute.has_strategy():
            _without_xla(jit_compile, "the model trains under a tf.distribute strategy")
            _fit_distributed(model, train, plan, **common)
        else:
            # The optimizer the network was compiled with (rate set before every step):
            # compiled once per fit, and after it the model keeps it at the last rate.
            step_rates = plan.step_rates
            _training_optimizer(model, float(step_rates[0]))
            program = _program_for(model, train, plan, jit_compile)
            if not callbacks[1:]:
                # No other callback can change the weights between a cycle's last call
                # and its end: the snapshot takes what that call read.
                snapshotter.state_source = program.take_state
            run_cycles(model, program, train, step_rates=step_rates, **common)
    return snapshotter


def _without_xla(jit_compile, reason):
    """Refuse (``jit_compile=True``) or warn (``"auto"``) where XLA is not used."""
    if jit_compile is True:
        raise ValueError(
            f"jit_compile=True, but XLA cannot train this network: {reason}. Use "
            "jit_compile='auto' (falls back to the plain TensorFlow program with a "
            "warning) or jit_compile=False."
        )
    if jit_compile == "auto":
        warnings.warn(
            f"jit_compile='auto': training without XLA because {reason}; pass "
            "jit_compile=False to silence this warning.",
            UserWarning,
            stacklevel=4,
        )


def _program_for(model, train, plan, jit_compile):
    """The XLA program where it can train ``model``, else the plain one."""
    key = program_key(model, train)
    if jit_compile is not False:
        reason = "the model runs eagerly (run_eagerly=True)" if model.run_eagerly else None
        if reason is None:
            try:
                program = shared_program(model, train, key, jit_compile=True)
                first = min(execution_size(int(plan.cycle_steps[0])), XLA_MAX_CALL_STEPS)
                program.check(train, first, plan.batch_size)
                return program
            except XlaUnavailable as exc:
                reason = f"XLA cannot compile its training step ({exc})"
        _without_xla(jit_compile, reason)
    return shared_program(model, train, key)


def _fit_distributed(
    model,
    train,
    plan,
    *,
    step_lengths,
    batch_size,
    seed,
    shuffle,
    callbacks,
    verbose,
    first_cycle,
    validation_data,
    validation_batch_size,
):
    """``Model.fit`` on the seeded stream, under the model's tf.distribute strategy.

    The optimizer follows the plan through a :class:`SnapshotLearningRateSchedule`;
    afterwards the model gets a plain optimizer at the last rate (a schedule would be
    pickled with the model, and refuses a later float rate).
    """
    compile_config = keras.saving.deserialize_keras_object(model.get_compile_config())
    base_optimizer = model.optimizer.get_config()
    # Keras 3.15's multi-step loop fails under several replicas ("You must feed a value
    # for placeholder tensor"): one step per compiled call there.
    single = model.distribute_strategy.num_replicas_in_sync == 1
    schedule = SnapshotLearningRateSchedule(plan.unit_rates, plan.steps_per_unit)
    optimizer = type(model.optimizer).from_config({**base_optimizer, "learning_rate": schedule})
    snapshotter = callbacks[0]  # the SnapshotCallback, first in the list
    start = 0
    for first, count, length in cycle_groups(step_lengths):
        if snapshotter.stopped:
            break
        model.compile(
            **{
                **compile_config,
                "optimizer": optimizer,
                "steps_per_execution": execution_size(length) if single else 1,
            }
        )
        stream = batch_stream(
            train,
            batch_size=batch_size,
            start_step=start,
            n_steps=count * length,
            seed=seed,
            shuffle=shuffle,
        )
        model.fit(
            stream,
            epochs=first_cycle + first + count,
            initial_epoch=first_cycle + first,
            steps_per_epoch=length,
            validation_data=validation_data,
            validation_batch_size=validation_batch_size,
            callbacks=callbacks,
            shuffle=False,  # the stream is already shuffled, epoch by epoch
            verbose=verbose,
        )
        start += count * length
    final = type(model.optimizer).from_config(
        {**base_optimizer, "learning_rate": float(plan.unit_rates[-1])}
    )
    model.compile(**{**compile_config, "optimizer": final})
    # Built, so that a pickled model restores its optimizer without warnings.
    final.build(model.trainable_variables)


def _training_optimizer(model, learning_rate):
    """Give ``model`` a built optimizer whose learning rate is a float variable.

    The training program sets that variable before every step. The optimizer the model
    was compiled with is used as it is when it is unused; a continued fit
    (``warm_start``) or an optimizer whose rate is a schedule gets a new one from its
    configuration.
    """
    optimizer = model.optimizer
    if optimizer.built or not isinstance(optimizer.learning_rate, keras.Variable):
        config = {**optimizer.get_config(), "learning_rate": learning_rate}
        optimizer = type(optimizer).from_config(config)
        compile_config = keras.saving.deserialize_keras_object(model.get_compile_config())
        model.compile(**{**compile_config, "optimizer": optimizer})
    optimizer.learning_rate = learning_rate
    optimizer.build(model.trainable_variables)
