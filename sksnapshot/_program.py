"""The compiled training loop: a run of mini-batch steps in one TensorFlow call.

A snapshot fit is thousands of tiny steps (the reference fit: 2,000 steps of 32 rows
through a 50-unit network, microseconds of arithmetic each). Keras' ``Model.fit`` spends
far more than that per step and per epoch on its input pipeline and bookkeeping, so the
estimators train through a :class:`TrainingProgram` instead: one ``tf.function`` that

* holds the training rows as tensors and draws every data epoch's order in the graph
  (:func:`~sksnapshot._batches.epoch_order`, the same order as
  :func:`~sksnapshot._batches.batch_stream`),
* sets the optimizer's learning rate from the precomputed per-step table before each step,
* and calls the model's own ``train_step`` (its loss, metrics, regularisers and any
  override of ``train_step`` apply), for as many steps as asked.

Tracing that function costs more than running the reference fit's 2,000 steps, so a
program is shared between fits whose networks are the same function of their weights
(:func:`shared_program`, keyed by :func:`~sksnapshot._cache.program_key`): the default
MLP with built-in Keras losses, metrics and optimizers. Such a program trains a private
*template* copy of the network; the fit's own model, optimizer slots included, is copied
in before and out after every call.
"""

import keras
import numpy as np
import tensorflow as tf

from ._batches import batch_table, epoch_order
from ._cache import SharedCache

__all__ = [
    "XLA_MAX_BLOCK_BYTES",
    "XLA_MAX_CALL_STEPS",
    "TrainingProgram",
    "XlaTrainingProgram",
    "XlaUnavailable",
    "shared_program",
]

#: Most steps one call of the XLA program runs.
XLA_MAX_CALL_STEPS = 256
#: Most bytes of the batch block (every step's rows) one compiled XLA call gets.
XLA_MAX_BLOCK_BYTES = 64 * 2**20

#: Programs kept for reuse by later fits (each holds a traced graph and a template).
_SHARED = SharedCache(max_size=8)


def _state(model):
    """The variables a training run reads and writes, in a fixed order."""
    return [
        v.value
        for v in (
            *model.trainable_variables,
            *model.non_trainable_variables,
            *model.optimizer.variables,
        )
    ]


def _reset_metrics(model):
    """``model.reset_metrics()`` inside a compiled function (a ``tf.cond`` branch)."""
    model.reset_metrics()
    return tf.constant(True)


class TrainingProgram:
    """Train a compiled Keras model through ``n_steps`` mini-batch steps per call.

    Parameters
    ----------
    model : keras.Model
        Compiled, with a built optimizer whose learning rate is a float (a variable the
        program sets before every step). The program updates its variables in place.
    arrays : tuple of ndarray
        Example training arrays (x, y and optionally sample weights): they fix the
        dtypes and the trailing shapes the program accepts; the number of rows is free.
    shared : bool, default=False
        Whether the program trains other models of the same structure (``model`` is
        then a private template): every call copies the caller's variables in first
        and back out last, inside the compiled function.
    """

    def __init__(self, model, arrays, shared=False):
        if not isinstance(model.optimizer.learning_rate, keras.Variable):
            raise TypeError("The training program needs an optimizer with a float learning rate.")
        self.model = model
        self.shared = shared
        self.signature = tuple((tuple(a.shape[1:]), np.dtype(a.dtype).name) for a in arrays)
        # Build the loss, the metrics and the layers outside the compiled function, as
        # Model.fit does (variables cannot be created inside its loop).
        model._symbolic_build(data_batch=tuple(a[:1] for a in arrays))
        self._state = _state(model)
        if model.run_eagerly:
            self._function = self._run
            return
        # Traced once, here, with the row count left free; variables passed as arguments
        # (a shared program's callers') do not cause new traces. Called as this concrete
        # function: a tf.function's dispatch costs about half a millisecond a call.
        self._function = tf.function(self._run, autograph=False).get_concrete_function(
            tuple(tf.TensorSpec((None, *shape), dtype) for shape, dtype in self.signature),
            tf.TensorSpec((None,), tf.float32),  # learning rate of every step
            tf.TensorSpec((None,), tf.int64),  # order of the current epoch, or empty
            *[tf.TensorSpec((), tf.int64)] * 4,  # seed, first step, steps, batch size
            tf.TensorSpec((), tf.bool),  # shuffle
            self._state if shared else [],
        )

    def _run(self, arrays, rates, order, seed, start, n_steps, batch_size, shuffle, source):
        model = self.model
        pairs = list(zip(source, self._state, strict=True)) if source else []
        for own, mine in pairs:
            mine.assign(own)
        learning_rate = model.optimizer.learning_rate
        n_rows = tf.shape(arrays[0], out_type=tf.int64)[0]
        per_epoch = (n_rows + batch_size - 1) // batch_size

        def body(i, order):
            step = start + i
            epoch, k = step // per_epoch, step % per_epoch
            order = tf.cond(
                tf.logical_or(tf.equal(k, 0), tf.size(order, out_type=tf.int64) < n_rows),
                lambda: epoch_order(n_rows, seed, epoch, shuffle),
                lambda: order,
            )
            rows = order[k * batch_size : tf.minimum((k + 1) * batch_size, n_rows)]
            learning_rate.assign(tf.cast(tf.gather(rates, step), learning_rate.dtype))
            model.train_step(tuple(tf.gather(a, rows) for a in arrays))
            return i + 1, order

        _, order = tf.while_loop(
            lambda i, order: i < n_steps,
            body,
            (tf.constant(0, tf.int64), order),
            shape_invariants=(tf.TensorShape([]), tf.TensorShape([None])),
        )
        for own, mine in pairs:
            own.assign(mine)
        return model.get_metrics_result(), order

    def reset_metrics(self):
        self.model.reset_metrics()

    def take_state(self):
        """None: a snapshot reads the model (see :meth:`XlaTrainingProgram.take_state`)."""
        return None

    def __call__(self, arrays, rates, order, seed, start, n_steps, batch_size, shuffle, source=()):
        """Run ``n_steps`` steps from global step ``start``.

        ``order`` is the row order of the epoch ``start`` falls in, as returned by the
        previous call (or an empty tensor: it is then drawn again). ``source`` is the
        state (``_state(model)``) of the model a shared program trains. Returns the
        metric results since the last ``reset_metrics`` and the order of the last epoch.
        """
        logs, order = self._function(
            arrays,
            rates,
            order,
            tf.constant(seed, tf.int64),
            tf.constant(start, tf.int64),
            tf.constant(n_steps, tf.int64),
            tf.constant(batch_size, tf.int64),
            tf.constant(shuffle, tf.bool),
            list(source),
        )
        return {name: float(value) for name, value in logs.items()}, order


class XlaUnavailable(RuntimeError):
    """XLA cannot compile this network's training step (the reason is the message)."""


def _step_bucket(n_steps, most=XLA_MAX_CALL_STEPS):
    """Steps a call is padded to: a power of two, at least ``min(16, most)``.

    ``most`` (a power of two) bounds the steps of one call: few shapes, few compilations.
    """
    return max(1 << (int(n_steps) - 1).bit_length(), min(16, most))


class XlaTrainingProgram:
    """The training program compiled by XLA: static shapes, the same steps.

    XLA compiles a function once per input shape and cannot shuffle, so a call has two
    parts. First, a plain TensorFlow function draws the batch rows of the call's steps
    (:func:`~sksnapshot._batches.batch_table`: the same batches as
    :class:`TrainingProgram`) and gathers them into a ``(steps, batch_size, ...)`` block,
    padded to a bucket of steps (:func:`_step_bucket`). The last, shorter batch of an
    epoch is padded with rows of weight zero, and the real rows' weights are scaled by
    ``batch_size / rows``: Keras averages the weighted loss over the whole (padded)
    batch, so the loss and its gradient equal those of the short batch (up to float
    rounding). Then the XLA-compiled loop runs the steps, with the true number of steps
    as an argument. Its shapes depend on the batch size, the trailing shapes of the
    arrays and the bucket, never on the number of rows: cross-validation folds of
    different sizes reuse one compiled loop.

    Keras' loss tracker weighs every step by the padded batch size, so the logged mean
    loss of a cycle weighs a short batch like a full one; unweighted ``metrics`` count
    the padding rows (copies of row 0). The parameters are as for
    :class:`TrainingProgram`.
    """

    def __init__(self, model, arrays, shared=False):
        if not isinstance(model.optimizer.learning_rate, keras.Variable):
            raise TypeError("The training program needs an optimizer with a float learning rate.")
        if model.run_eagerly:
            raise XlaUnavailable("the model runs eagerly (run_eagerly=True)")
        self.model = model
        self.shared = shared
        self.weighted = len(arrays) == 3
        self.signature = tuple((tuple(a.shape[1:]), np.dtype(a.dtype).name) for a in arrays)
        weights = np.ones(1, dtype=keras.backend.floatx())
        model._symbolic_build(data_batch=(arrays[0][:1], arrays[1][:1], weights))
        self._state = _state(model)
        # Both functions are called as concrete functions (a tf.function's dispatch costs
        # about half a millisecond a call): the batches' for any row count, the XLA loop's
        # one per block shape (_steps_function).
        self._gather = tf.function(self._gather_batches, autograph=False).get_concrete_function(
            tuple(tf.TensorSpec((None, *shape), dtype) for shape, dtype in self.signature),
            *[tf.TensorSpec((), tf.int64)] * 5,  # seed, first step, steps, padded steps, batch
            tf.TensorSpec((), tf.bool),  # shuffle
        )
        self._steps = tf.function(self._run_steps, autograph=False, jit_compile=True)
        self._step_functions = {}
        self._compiled = False
        self._reset_pending = False
        self.last_state = None  # the outputs of the last call's state (take_state)
        self.max_call_steps = XLA_MAX_CALL_STEPS

    def _most_steps(self, batch_size):
        """Most steps per compiled call: 256, fewer where the block would exceed 64 MiB."""
        row_bytes = 4 + sum(
            int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            for shape, dtype in self.signature
        )
        most = max(1, XLA_MAX_BLOCK_BYTES // (int(batch_size) * row_bytes))
        return min(XLA_MAX_CALL_STEPS, 1 << (most.bit_length() - 1))

    def check(self, arrays, n_steps, batch_size, source=()):
        """Raise :class:`XlaUnavailable` if XLA cannot compile the loop for this call.

        Converts the loop to XLA's graph for the call's shapes without running it (once
        per program): a network with operations XLA lacks fails here, before training.
        """
        if self._compiled:
            return
        arrays = tuple(tf.constant(a) for a in arrays)
        most = self._most_steps(batch_size)
        n_steps = min(n_steps, most)
        padded = _step_bucket(n_steps, most)
        x, y, weights = self._gather(
            arrays,
            *[tf.constant(v, tf.int64) for v in (0, 0, n_steps, padded, batch_size)],
            tf.constant(False),
        )
        try:
            self._steps.experimental_get_compiler_ir(
                x,
                y,
                weights,
                tf.zeros(padded),
                tf.constant(n_steps, tf.int64),
                tf.constant(True),
                list(source),
            )(stage="hlo")
        except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError, ValueError) as exc:
            raise XlaUnavailable(str(exc).strip().splitlines()[0]) from exc

    @property
    def compilations(self):
        """Number of shapes the XLA loop has been compiled for."""
        return self._steps.experimental_get_tracing_count()

    def _gather_batches(self, arrays, seed, start, n_steps, padded_steps, batch_size, shuffle):
        n_rows = tf.shape(arrays[0], out_type=tf.int64)[0]
        rows, valid = batch_table(n_rows, seed, start, n_steps, batch_size, shuffle)
        valid = tf.cast(valid, keras.backend.floatx())
        count = tf.reduce_sum(valid, axis=1, keepdims=True)
        weights = valid * tf.cast(batch_size, valid.dtype) / count
        padding = [[0, padded_steps - n_steps], [0, 0]]
        rows, weights = tf.pad(rows, padding), tf.pad(weights, padding)
        blocks = [tf.gather(a, rows) for a in arrays]
        if self.weighted:
            weights = weights * tf.cast(blocks.pop(), weights.dtype)
        return blocks[0], blocks[1], weights

    def _run_steps(self, x, y, weights, rates, n_steps, reset, source):
        model = self.model
        pairs = list(zip(source, self._state, strict=True)) if source else []
        for own, mine in pairs:
            mine.assign(own)
        tf.cond(reset, lambda: _reset_metrics(model), lambda: tf.constant(False))
        learning_rate = model.optimizer.learning_rate

        def body(i):
            learning_rate.assign(tf.cast(rates[i], learning_rate.dtype))
            model.train_step((x[i], y[i], weights[i]))
            return (i + 1,)

        tf.while_loop(lambda i: i < n_steps, body, (tf.constant(0, tf.int64),))
        for own, mine in pairs:
            own.assign(mine)
        # The weights and step count after the call (the caller's, when shared): a
        # snapshot at a cycle end reads them here instead of in a call of its own.
        state = [tf.identity(v.value) for v in (*model.weights, model.optimizer.iterations)]
        return model.get_metrics_result(), state

    def _steps_function(self, arguments, source):
        """The XLA loop's concrete function for the block shape of ``arguments``."""
        key = tuple(tuple(a.shape) for a in arguments[:3])  # the block's shape
        function = self._step_functions.get(key)
        if function is None:
            function = self._steps.get_concrete_function(*arguments, list(source))
            self._step_functions[key] = function
        return function

    def reset_metrics(self):
        """Reset the metrics at the start of the next call (inside it: no call of its own)."""
        self._reset_pending = True

    def __call__(self, arrays, rates, order, seed, start, n_steps, batch_size, shuffle, source=()):
        """As :meth:`TrainingProgram.__call__` (``order`` is passed through unused).

        Raises :class:`XlaUnavailable` when XLA cannot compile the network's training
        step (on the first call, before any step ran).
        """
        most = self._most_steps(batch_size)
        for begin in range(0, n_steps, most):
            logs = self._call(
                arrays,
                rates,
                seed,
                start + begin,
                min(most, n_steps - begin),
                most,
                batch_size,
                shuffle,
                source,
            )
        return {name: float(value) for name, value in logs.items()}, order

    def _call(self, arrays, rates, seed, start, n_steps, most, batch_size, shuffle, source):
        padded = _step_bucket(n_steps, most)
        x, y, weights = self._gather(
            arrays,
            tf.constant(seed, tf.int64),
            tf.constant(start, tf.int64),
            tf.constant(n_steps, tf.int64),
            tf.constant(padded, tf.int64),
            tf.constant(batch_size, tf.int64),
            tf.constant(shuffle, tf.bool),
        )
        step_rates = np.zeros(padded, dtype=np.float32)
        step_rates[:n_steps] = np.asarray(rates)[start : start + n_steps]
        arguments = (
            x,
            y,
            weights,
            tf.constant(step_rates),
            tf.constant(n_steps, tf.int64),
            tf.constant(self._reset_pending),
        )
        try:
            logs, state = self._steps_function(arguments, source)(*arguments, list(source))
        except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as exc:
            if self._compiled:
                raise
            raise XlaUnavailable(str(exc).strip().splitlines()[0]) from exc
        self._compiled = True
        self._reset_pending = False
        self.last_state = state
        return logs

    def take_state(self):
        """The step count and weights after the last call (once; None if already taken).

        Returns ``(step, weights)``, ``weights`` in ``model.weights`` order as ndarrays:
        what a snapshot would read from the trained model right after the call.
        """
        state, self.last_state = self.last_state, None
        if state is None:
            return None
        return int(state[-1]), [np.array(v, copy=True) for v in state[:-1]]


class _TemplateBinding:
    """A shared program applied to another model of the same structure."""

    def __init__(self, program, model):
        self.program = program
        self._source = _state(model)
        for own, template in zip(self._source, program._state, strict=True):
            if tuple(own.shape) != tuple(template.shape) or own.dtype != template.dtype:
                raise ValueError(f"{own.name} does not match the template's {template.name}.")

    def reset_metrics(self):
        self.program.reset_metrics()

    @property
    def max_call_steps(self):
        return getattr(self.program, "max_call_steps", None)

    def check(self, *args):
        return self.program.check(*args, source=self._source)

    def take_state(self):
        return self.program.take_state()

    def __call__(self, *args):
        return self.program(*args, source=self._source)


def _template(model):
    """An independent copy of ``model`` compiled the same way, with a built optimizer."""
    template = keras.models.clone_model(model)
    config = keras.saving.deserialize_keras_object(model.get_compile_config())
    optimizer = type(model.optimizer).from_config(model.optimizer.get_config())
    template.compile(**{**config, "optimizer": optimizer})
    optimizer.build(template.trainable_variables)
    return template


def shared_program(model, arrays, key, jit_compile=False):
    """The program that trains ``model``: shared under ``key``, or its own if key is None.

    A shared program is traced once for all fits with the same key; calling it copies
    ``model``'s weights and optimizer state into its template and back. With
    ``jit_compile`` it is an :class:`XlaTrainingProgram` (which raises
    :class:`XlaUnavailable` for a network XLA cannot train).
    """
    cls = XlaTrainingProgram if jit_compile else TrainingProgram
    if key is None:
        return cls(model, arrays)
    key = (key, cls.__name__)
    program = _SHARED.get(key)
    if program is None:
        program = _SHARED.add(key, cls(_template(model), arrays, shared=True))
    try:
        return _TemplateBinding(program, model)
    except ValueError:  # a structure the key did not capture: train it on its own
        return cls(model, arrays)
