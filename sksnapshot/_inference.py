"""Prediction with many snapshots at once, without touching the model's variables.

Snapshots are plain lists of numpy arrays in the order of ``model.get_weights()``. They
are evaluated with ``Model.stateless_call`` inside one compiled function, so predicting
never writes to the model's variables: it is safe from several threads at once and costs
one compiled call per chunk of rows, whatever the number of members.
"""

import functools
import threading
import weakref

import keras
import numpy as np
import tensorflow as tf

from ._cache import SharedCache, network_key

__all__ = ["member_outputs"]

#: Rows per compiled forward call: bounds the memory of prediction on large inputs.
PREDICT_CHUNK_ROWS = 8192


class _MemberForward:
    """Compiled functions evaluating a network under a stack of weight sets at once.

    The members' weights come stacked (one tensor per variable, members first) and one
    compiled call evaluates all of them on a chunk of rows, member after member in a loop
    of the compiled graph: the fixed cost of a call is paid once for all members, one
    member's activations are in memory (and in cache) at a time, and every member's output
    is the same whichever other members are evaluated with it. Chunks are padded to a
    power of two of rows (at least 64), so that one function is traced per (number of
    members, padded rows) pair. A forward shared by all networks of one structure
    (``network_key``: the default MLP, say) is compiled by XLA, unless XLA cannot compile
    the network; others run as plain TensorFlow graphs. The members' outputs are those of
    ``Model.stateless_call``, up to float32 rounding (XLA's).
    """

    def __init__(self, model, shared=False):
        # A forward kept for a fitted model refers to it weakly (it is the value of a
        # weak-keyed cache entry); a shared one owns its private copy.
        self._model_ref = (lambda: model) if shared else weakref.ref(model)
        position = {id(v): i for i, v in enumerate(model.weights)}
        # Variables outside ``model.weights`` (seed states of dropout layers) keep
        # their current value: they do not change the output at inference.
        self._trainable = [position.get(id(v)) for v in model.trainable_variables]
        self._non_trainable = [position.get(id(v)) for v in model.non_trainable_variables]
        # XLA compiles one function per shape in about as long as a fit of a small
        # network takes: worth it for a forward shared by every fit of its structure.
        self._jit = shared
        self._functions = {}
        self._lock = threading.Lock()

    @property
    def _model(self):
        return self._model_ref()

    def stack(self, snapshots):
        """The members' variables: stacked snapshot weights, or the variable's value."""
        model = self._model

        def pick(indices, variables):
            return [
                tf.convert_to_tensor(v.value)
                if i is None
                else tf.convert_to_tensor(np.stack([s[i] for s in snapshots]))
                for i, v in zip(indices, variables, strict=True)
            ]

        return (
            pick(self._trainable, model.trainable_variables),
            pick(self._non_trainable, model.non_trainable_variables),
        )

    def _forward(self, n_members, trainable, non_trainable, x):
        def take(indices, values, m):
            return [
                v if i is None else tf.gather(v, m) for i, v in zip(indices, values, strict=True)
            ]

        def body(m, outputs):
            y, _ = self._model.stateless_call(
                take(self._trainable, trainable, m),
                take(self._non_trainable, non_trainable, m),
                x,
                training=False,
            )
            return m + 1, outputs.write(m, y)

        model_outputs = getattr(self._model, "outputs", None) or [None]
        dtype = getattr(model_outputs[0], "dtype", None) or self._model.compute_dtype
        outputs = tf.TensorArray(dtype, size=n_members)
        _, outputs = tf.while_loop(lambda m, _: m < n_members, body, (tf.constant(0), outputs))
        return outputs.stack()

    def _function(self, key):
        # One tf.function per shape: each is traced once (no retracing warnings).
        with self._lock:
            function = self._functions.get(key)
            if function is None:
                jit, n_members, _ = key
                function = tf.function(
                    functools.partial(self._forward, n_members), autograph=False, jit_compile=jit
                )
                self._functions[key] = function
            return function

    def __call__(self, members, n_members, x):
        """Outputs of every member on ``x``: float32, (n_members, n_rows, ...)."""
        if self._jit:
            try:
                return self._function((True, n_members, x.shape[0]))(*members, x)
            except tf.errors.OpError:  # XLA cannot compile this network: plain graphs
                self._jit = False
        return self._function((False, n_members, x.shape[0]))(*members, x)


_FORWARDS = weakref.WeakKeyDictionary()
_FORWARDS_LOCK = threading.Lock()
#: Forwards kept for networks of the same structure fitted later (see ``network_key``).
_SHARED_FORWARDS = SharedCache(max_size=8)


def _forward_for(model):
    """The forward of ``model``: shared by networks of the same structure when possible."""
    with _FORWARDS_LOCK:
        forward = _FORWARDS.get(model)
        if forward is not None:
            return forward
    key = network_key(model)
    forward = _SHARED_FORWARDS.get(key) if key is not None else None
    if forward is None and key is not None:
        # A shared forward evaluates a private copy of the network (stateless_call
        # never reads its weights), so that it keeps no fitted model alive.
        forward = _SHARED_FORWARDS.add(
            key, _MemberForward(keras.models.clone_model(model), shared=True)
        )
    elif forward is None:
        forward = _MemberForward(model)
    with _FORWARDS_LOCK:
        _FORWARDS[model] = forward
    return forward


def _padded_rows(n_rows, chunk_rows):
    """Rows a chunk of ``n_rows`` is padded to: a power of two, 64 to ``chunk_rows``."""
    return min(max(64, 1 << max(n_rows - 1, 0).bit_length()), max(chunk_rows, n_rows))


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
    members = forward.stack(snapshots)
    X = np.asarray(X, dtype=keras.backend.floatx())
    pieces = []
    for start in range(0, len(X), chunk_rows):
        chunk = X[start : start + chunk_rows]
        n_rows = len(chunk)
        padded = _padded_rows(n_rows, chunk_rows)
        if padded > n_rows:
            chunk = np.concatenate([chunk, np.zeros((padded - n_rows, *X.shape[1:]), X.dtype)])
        out = forward(members, len(snapshots), tf.constant(chunk)).numpy()[:, :n_rows]
        # The mean accumulates in float64 without a float64 copy of every output.
        pieces.append(
            out.mean(axis=0, dtype=np.float64) if reduce == "mean" else out.astype(np.float64)
        )
    return np.concatenate(pieces, axis=0 if reduce == "mean" else 1)
