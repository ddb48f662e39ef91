"""Prediction with many snapshots at once, without touching the model's variables.

Snapshots are plain lists of numpy arrays in the order of ``model.get_weights()``. They
are evaluated with ``Model.stateless_call`` inside compiled functions, so predicting never
writes to the model's variables: it is safe from several threads at once and costs one
compiled call per chunk of rows and group of (up to 16) members.
"""

import atexit
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
#: Members evaluated by one call of an XLA-compiled forward: every group is padded to
#: this many, so that the compiled shapes do not depend on the number of members. The
#: padding is zeros that are never evaluated: a group of one member holds 16 members'
#: weights while it is predicted.
MEMBER_GROUP = 16
#: Rows of the chunks an XLA-compiled forward is called on (capped at ``chunk_rows``):
#: every input is cut into chunks of these sizes, so that three compiled shapes serve
#: every number of rows.
ROW_BUCKETS = (128, 1024, 8192)


class _MemberForward:
    """Compiled functions evaluating a network under a stack of weight sets at once.

    The members' weights come stacked (one tensor per variable, members first) and one
    compiled call evaluates them on a chunk of rows, member after member in a loop of the
    compiled graph whose number of turns is an argument of the call: the fixed cost of a
    call is paid once for its members, one member's activations are in memory (and in
    cache) at a time, and every member's output is the same whichever other members are
    evaluated with it.

    A forward shared by all networks of one structure (``network_key``: the default MLP,
    say) is compiled by XLA, unless XLA cannot compile the network. XLA compiles one
    program per shape, in about as long as a fit of a small network takes, so its shapes
    are fixed: members come in groups of :data:`MEMBER_GROUP` (the last one padded with
    zeros, which are never evaluated) and rows in chunks of the sizes of
    :data:`ROW_BUCKETS`: the forward's first call compiles its own size, and a thread the
    others, in the background. Any later number of members or rows then costs no
    compilation. Other forwards run as one plain TensorFlow graph, traced once for every
    number of members and rows. The members' outputs are those of
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
        # Called as concrete functions (a tf.function's dispatch costs about half a
        # millisecond a call, and prediction on many rows makes a call per chunk).
        self._concrete = {}
        self._lock = threading.Lock()
        self._compile_lock = threading.Lock()  # guards the start of the precompilation
        self._precompiling = None

    @property
    def _model(self):
        return self._model_ref()

    def stack(self, snapshots):
        """The members' variables, in groups: ``[(trainable, non_trainable, count)]``.

        Each group holds the stacked snapshot weights of ``count`` members (or the
        variable's value, for variables outside the snapshots). An XLA forward takes
        groups of :data:`MEMBER_GROUP` members, padded with zeros; a plain one, one
        group of all members.
        """
        model = self._model
        size = MEMBER_GROUP if self._jit else max(len(snapshots), 1)

        def pick(indices, variables, group):
            stacked = []
            for i, v in zip(indices, variables, strict=True):
                if i is None:
                    stacked.append(tf.convert_to_tensor(v.value))
                    continue
                first = np.asarray(group[0][i])
                values = np.zeros((size, *first.shape), first.dtype)
                for m, snapshot in enumerate(group):
                    values[m] = snapshot[i]
                stacked.append(tf.convert_to_tensor(values))
            return stacked

        return [
            (
                pick(self._trainable, model.trainable_variables, group),
                pick(self._non_trainable, model.non_trainable_variables, group),
                len(group),
            )
            for group in (snapshots[s : s + size] for s in range(0, len(snapshots), size))
        ]

    def _forward(self, trainable, non_trainable, count, x):
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

        stacked = [v for i, v in zip(self._trainable, trainable, strict=True) if i is not None]
        stacked += [
            v for i, v in zip(self._non_trainable, non_trainable, strict=True) if i is not None
        ]
        # The stacked members' number: fixed in an XLA program (the padded group's), the
        # number of members evaluated in a plain graph.
        size = stacked[0].shape[0] if stacked and stacked[0].shape[0] is not None else count
        model_outputs = getattr(self._model, "outputs", None) or [None]
        dtype = getattr(model_outputs[0], "dtype", None) or self._model.compute_dtype
        outputs = tf.TensorArray(dtype, size=size)
        _, outputs = tf.while_loop(lambda m, _: m < count, body, (tf.constant(0), outputs))
        return outputs.stack()

    def _function(self, key, signature=None):
        # One tf.function per key: each is traced once (no retracing warnings).
        with self._lock:
            function = self._functions.get(key)
            if function is None:
                # A partial of its own: TensorFlow counts traces per Python function
                # (per code object), and would warn of "retracing" when the forwards of
                # several networks, each traced once, are first called close together.
                function = tf.function(
                    functools.partial(self._forward),
                    input_signature=signature,
                    autograph=False,
                    jit_compile=key[0],
                )
                self._functions[key] = function
            return function

    def _concrete_function(self, key, trainable, non_trainable, x, signature=None):
        """The concrete function of ``self._function(key)`` for these arguments' shapes."""
        function = self._concrete.get(key)
        if function is None:
            traced = self._function(key, signature)
            function = traced.get_concrete_function(trainable, non_trainable, tf.constant(0), x)
            with self._lock:
                function = self._concrete.setdefault(key, function)
        return function

    def _precompile(self, group, x, row_sizes):
        """Compile the XLA programs of every row size in ``row_sizes``, in the background.

        One compilation costs about as long as a fit of a small network, and every later
        call with another number of rows is then spared its own: the first call of the
        forward compiles its own size, a thread the others. A call needing a size being
        compiled waits for it (TensorFlow compiles a function's program once).
        """
        with self._compile_lock:
            sizes = [s for s in row_sizes if (True, MEMBER_GROUP, s) not in self._functions]
            if not sizes:
                return
            functions = [self._function((True, MEMBER_GROUP, size)) for size in sizes]
        trainable, non_trainable, _ = group
        features, dtype = x.shape[1:], x.dtype

        def compile_all():
            try:
                for size, function in zip(sizes, functions, strict=True):
                    x_size = tf.zeros((size, *features), dtype)
                    function(trainable, non_trainable, tf.constant(0), x_size)
            except Exception:  # noqa: BLE001 - a call compiling it will say what failed
                pass
            finally:
                _PRECOMPILING.discard(thread)

        thread = threading.Thread(target=compile_all, name="sksnapshot-precompile", daemon=True)
        _PRECOMPILING.add(thread)
        self._precompiling = thread
        thread.start()

    def wait_precompiled(self, timeout=None):
        """Wait for the programs compiled in the background (tests, benchmarks)."""
        thread = getattr(self, "_precompiling", None)
        if thread is not None:
            thread.join(timeout)

    def _plain(self, trainable, non_trainable, x):
        def spec(value, stacked):
            shape = (None, *value.shape[1:]) if stacked else value.shape
            return tf.TensorSpec(shape, value.dtype)

        signature = [
            [spec(v, i is not None) for i, v in zip(self._trainable, trainable, strict=True)],
            [
                spec(v, i is not None)
                for i, v in zip(self._non_trainable, non_trainable, strict=True)
            ],
            tf.TensorSpec((), tf.int32),
            tf.TensorSpec((None, *x.shape[1:]), x.dtype),
        ]
        return self._concrete_function((False,), trainable, non_trainable, x, signature)

    def __call__(self, group, x, row_sizes=ROW_BUCKETS):
        """Outputs of a group's members on ``x``: (count, n_rows, ...), or more (padding)."""
        trainable, non_trainable, count = group
        if self._jit:
            try:
                key = (True, MEMBER_GROUP, x.shape[0])
                function = self._concrete_function(key, trainable, non_trainable, x)
                outputs = function(trainable, non_trainable, tf.constant(count), x)
            except tf.errors.OpError:  # XLA cannot compile this network: plain graphs
                self._jit = False
            else:
                if any((True, MEMBER_GROUP, s) not in self._functions for s in row_sizes):
                    self._precompile(group, x, row_sizes)
                return outputs
        # A group padded for XLA is cut to its members.
        trainable, non_trainable = (
            [v if i is None else v[:count] for i, v in zip(indices, values, strict=True)]
            for indices, values in (
                (self._trainable, trainable),
                (self._non_trainable, non_trainable),
            )
        )
        function = self._plain(trainable, non_trainable, x)
        return function(trainable, non_trainable, tf.constant(count), x)


#: Threads compiling programs in the background: awaited at exit (a thread killed in
#: the middle of a compilation can crash the interpreter's shutdown).
_PRECOMPILING = set()


@atexit.register
def _await_precompiling():
    for thread in list(_PRECOMPILING):
        thread.join(timeout=10)


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


def _row_sizes(chunk_rows):
    """The sizes of the chunks of rows: :data:`ROW_BUCKETS`, at most ``chunk_rows``."""
    return tuple(sorted({min(size, chunk_rows) for size in ROW_BUCKETS}))


def _row_chunks(n_rows, sizes):
    """``(start, stop, padded)`` chunks of rows covering ``n_rows`` rows, of ``sizes``.

    Whole chunks of the largest size first; the rest is padded to the smallest size
    holding it when it fills more than a quarter of that size, and otherwise a chunk of
    the next smaller size is cut from it first. A few calls, and less than four times
    the rows computed.
    """
    chunks, start = [], 0
    while start < n_rows:
        rest = n_rows - start
        fit = next((size for size in sizes if size >= rest), None)
        if fit is None:
            size = sizes[-1]
        elif fit == sizes[0] or 4 * rest > fit:
            chunks.append((start, n_rows, fit))
            break
        else:
            size = sizes[sizes.index(fit) - 1]
        chunks.append((start, start + size, size))
        start += size
    return chunks


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
    reduce : {None, "mean"} or callable, default=None
        ``None`` returns every member's output; ``"mean"`` their mean, computed chunk
        by chunk so that memory stays bounded by ``chunk_rows``; a callable reduces
        every chunk's ``(n_members, n_rows, ...)`` outputs to ``(n_rows, ...)``.
    chunk_rows : int, default=8192
        Rows per compiled call, at most.

    Returns
    -------
    outputs : ndarray of shape (n_members, n_samples, n_outputs), or (n_samples, n_outputs)
        with ``reduce``.
    """
    forward = _forward_for(model)
    groups = forward.stack(snapshots)
    X = np.asarray(X, dtype=keras.backend.floatx())
    # An XLA forward takes chunks of fixed sizes (padded); a plain graph, any rows.
    sizes = _row_sizes(chunk_rows) if forward._jit else None
    chunks = (
        _row_chunks(len(X), sizes)
        if sizes
        else [(s, min(s + chunk_rows, len(X)), None) for s in range(0, len(X), chunk_rows)]
    )
    pieces = []
    for start, stop, padded in chunks:
        chunk = X[start:stop]
        n_rows = len(chunk)
        if padded is not None and padded > n_rows:
            chunk = np.concatenate([chunk, np.zeros((padded - n_rows, *X.shape[1:]), X.dtype)])
        x = tf.constant(chunk)
        # np.asarray: a view of the outputs (``numpy()`` would copy the padding too).
        outs = [np.asarray(forward(group, x, sizes or ()))[: group[2], :n_rows] for group in groups]
        out = outs[0] if len(outs) == 1 else np.concatenate(outs)
        if reduce is None:
            pieces.append(out.astype(np.float64))
        elif reduce == "mean":
            # The mean accumulates in float64 without a float64 copy of every output.
            pieces.append(out.mean(axis=0, dtype=np.float64))
        else:
            pieces.append(reduce(out))
    return np.concatenate(pieces, axis=1 if reduce is None else 0)
