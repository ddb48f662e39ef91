"""Snapshot capture (a Keras callback) and prediction with many snapshots at once.

Snapshots are plain lists of numpy arrays in the order of ``model.get_weights()``. They
are evaluated with ``Model.stateless_call`` inside one compiled function, so predicting
never writes to the model's variables: it is safe from several threads at once and costs
one compiled call per chunk of rows, whatever the number of members.
"""

import threading
import weakref
from collections import defaultdict
from contextlib import contextmanager

import keras
import numpy as np
import tensorflow as tf

__all__ = ["SnapshotCallback", "member_outputs"]

#: Rows per compiled forward call: bounds the memory of prediction on large inputs.
PREDICT_CHUNK_ROWS = 8192


class SnapshotCallback(keras.callbacks.Callback):
    """Copy the model's weights into memory at the end of every cycle; stop on divergence.

    The training loop runs one Keras epoch per cycle, so ``on_epoch_end`` is a cycle end.
    The callback checks that the optimizer has taken exactly the planned number of steps
    (a snapshot is never taken off a cycle boundary).

    It also guards the snapshots against a diverging run. After every compiled call of
    the train step (``steps_per_execution`` steps), a non-finite training loss (NaN or
    inf) stops training; the cycle it happened in is not finished, so it gives no
    snapshot. At a cycle end, weights that are not all finite are refused and stop
    training too. A callback of the user that stops training (``EarlyStopping``)
    ends the run as well: a cycle cut short gives no snapshot.

    Put it first in the callback list, so that a cycle's snapshot is taken before any
    other callback runs (and may fail, or be interrupted).

    Parameters
    ----------
    snapshot_steps : sequence of int
        Optimizer step count at the end of every cycle, in order.

    Attributes
    ----------
    snapshots : list of list of ndarray
        The snapshots of the finished cycles.
    history : dict of list
        The Keras logs (loss, metrics, validation scores) of every finished cycle.
    stop_reason : None or str
        Why the run stopped before its planned end: ``"loss"`` (non-finite training
        loss), ``"weights"`` (non-finite weights at a cycle end), ``"callback"`` (another
        callback stopped training in the middle of a cycle), ``"early_stopping"``
        (another callback stopped it at a cycle end) or ``"interrupt"``
        (``KeyboardInterrupt``, set by :meth:`interruptible`); ``None`` otherwise.
    stop_value : float or None
        The non-finite loss that stopped training.
    """

    def __init__(self, snapshot_steps):
        super().__init__()
        self.snapshot_steps = [int(s) for s in snapshot_steps]
        self.snapshots = []
        self.history = defaultdict(list)
        self.stop_reason = None
        self.stop_value = None

    @property
    def stopped(self):
        """Whether training stopped before the planned end."""
        return self.stop_reason is not None

    @property
    def n_planned(self):
        """Number of cycles the run was planned for."""
        return len(self.snapshot_steps)

    def _stop(self, reason):
        if self.stop_reason is None:
            self.stop_reason = reason
        self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        # Keras calls this once per compiled call; ``loss`` is the running mean of the
        # cycle, so any non-finite step loss since the cycle began shows up here.
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            self.stop_value = float(loss)
            self._stop("loss")

    def on_epoch_end(self, epoch, logs=None):
        if self.stopped:
            return  # the cycle did not finish
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        expected = self.snapshot_steps[len(self.snapshots)]
        if step != expected:
            if self.model.stop_training:  # another callback stopped the cycle midway
                self._stop("callback")
                return
            raise RuntimeError(
                f"Snapshot {len(self.snapshots) + 1} was due after step {expected}, but "
                f"the optimizer is at step {step}."
            )
        weights = [np.array(w, copy=True) for w in self.model.get_weights()]
        if not all(np.isfinite(w).all() for w in weights):
            self._stop("weights")
            return
        self.snapshots.append(weights)
        for key, value in (logs or {}).items():
            self.history[key].append(_as_float(value))

    def on_train_end(self, logs=None):
        if self.model.stop_training and not self.stopped:
            self.stop_reason = "early_stopping"

    @contextmanager
    def interruptible(self):
        """Context in which a ``KeyboardInterrupt`` ends training instead of propagating.

        The snapshots of the finished cycles are kept; ``stop_reason`` becomes
        ``"interrupt"``. Whoever runs the training decides what to report (see
        :func:`sksnapshot._faults.conclude_training`).
        """
        try:
            yield self
        except KeyboardInterrupt:
            if self.stop_reason is None:
                self.stop_reason = "interrupt"


def _as_float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


class _MemberForward:
    """One compiled function evaluating a model under several sets of weights."""

    def __init__(self, model):
        self._model = weakref.ref(model)
        position = {id(v): i for i, v in enumerate(model.weights)}
        # Variables outside ``model.weights`` (seed states of dropout layers) keep
        # their current value: they do not change the output at inference.
        self._trainable = [position.get(id(v)) for v in model.trainable_variables]
        self._non_trainable = [position.get(id(v)) for v in model.non_trainable_variables]
        self._function = tf.function(self._forward, reduce_retracing=True)

    def _forward(self, members, x):
        model = self._model()
        outputs = []
        for trainable, non_trainable in members:
            y, _ = model.stateless_call(trainable, non_trainable, x, training=False)
            outputs.append(y)
        return tf.stack(outputs)

    def member_variables(self, snapshot):
        model = self._model()

        def pick(indices, variables):
            return [
                tf.convert_to_tensor(v.value if i is None else snapshot[i])
                for i, v in zip(indices, variables, strict=True)
            ]

        return (
            pick(self._trainable, model.trainable_variables),
            pick(self._non_trainable, model.non_trainable_variables),
        )

    def __call__(self, members, x):
        return self._function(members, x)


_FORWARDS = weakref.WeakKeyDictionary()
_FORWARDS_LOCK = threading.Lock()


def _forward_for(model):
    with _FORWARDS_LOCK:
        forward = _FORWARDS.get(model)
        if forward is None:
            forward = _FORWARDS[model] = _MemberForward(model)
        return forward


def member_outputs(model, snapshots, X, reduce=None, chunk_rows=PREDICT_CHUNK_ROWS):
    """Outputs of ``model`` under every snapshot, for every row of ``X``.

    Parameters
    ----------
    model : keras.Model
        The network; its own variables are neither read for the weights nor changed.
    snapshots : list of list of ndarray
        Weights of every member, each in the order of ``model.get_weights()``.
    X : ndarray of shape (n_samples, ...)
        Input rows, already encoded for the model.
    reduce : {None, "mean"}, default=None
        ``None`` returns every member's output; ``"mean"`` their mean, computed chunk
        by chunk so that memory stays bounded by ``chunk_rows``.
    chunk_rows : int, default=8192
        Rows per compiled call.

    Returns
    -------
    outputs : ndarray of shape (n_members, n_samples, n_outputs), or (n_samples, n_outputs)
        with ``reduce="mean"``.
    """
    forward = _forward_for(model)
    members = [forward.member_variables(s) for s in snapshots]
    X = np.asarray(X, dtype=keras.backend.floatx())
    pieces = []
    for start in range(0, len(X), chunk_rows):
        out = forward(members, tf.constant(X[start : start + chunk_rows])).numpy()
        out = out.astype(np.float64)
        pieces.append(out.mean(axis=0) if reduce == "mean" else out)
    return np.concatenate(pieces, axis=0 if reduce == "mean" else 1)
