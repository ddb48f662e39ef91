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

from ._batches import epoch_order
from ._cache import SharedCache

__all__ = ["TrainingProgram", "shared_program"]

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
        self._function = tf.function(self._run, autograph=False)
        # Traced once, here, with the row count left free; variables passed as arguments
        # (a shared program's callers') do not cause new traces.
        self._function.get_concrete_function(
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


def shared_program(model, arrays, key):
    """The program that trains ``model``: shared under ``key``, or its own if key is None.

    A shared program is traced once for all fits with the same key; calling it copies
    ``model``'s weights and optimizer state into its template and back.
    """
    if key is None:
        return TrainingProgram(model, arrays)
    program = _SHARED.get(key)
    if program is None:
        program = _SHARED.add(key, TrainingProgram(_template(model), arrays, shared=True))
    try:
        return _TemplateBinding(program, model)
    except ValueError:  # a structure the key did not capture: train it on its own
        return TrainingProgram(model, arrays)
