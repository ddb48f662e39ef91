"""Snapshot capture (a Keras callback) and prediction with many snapshots at once.

Snapshots are plain lists of numpy arrays in the order of ``model.get_weights()``. They
are evaluated with ``Model.stateless_call`` inside one compiled function, so predicting
never writes to the model's variables: it is safe from several threads at once and costs
one compiled call per chunk of rows, whatever the number of members.
"""

import threading
import weakref

import keras
import numpy as np
import tensorflow as tf

__all__ = ["SnapshotCallback", "member_outputs"]

#: Rows per compiled forward call: bounds the memory of prediction on large inputs.
PREDICT_CHUNK_ROWS = 8192


class SnapshotCallback(keras.callbacks.Callback):
    """Copy the model's weights into memory at the end of every cycle.

    The training loop runs one Keras epoch per cycle, so ``on_epoch_end`` is a cycle end.
    The callback checks that the optimizer has taken exactly the planned number of steps
    (a snapshot is never taken off a cycle boundary).

    Parameters
    ----------
    snapshot_steps : sequence of int
        Optimizer step count at the end of every cycle, in order.
    """

    def __init__(self, snapshot_steps):
        super().__init__()
        self.snapshot_steps = [int(s) for s in snapshot_steps]
        self.snapshots = []

    def on_epoch_end(self, epoch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        expected = self.snapshot_steps[len(self.snapshots)]
        if step != expected:
            raise RuntimeError(
                f"Snapshot {len(self.snapshots) + 1} was due after step {expected}, but "
                f"the optimizer is at step {step}."
            )
        self.snapshots.append([np.array(w, copy=True) for w in self.model.get_weights()])


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
