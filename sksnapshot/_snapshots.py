"""Snapshot capture: a Keras callback that copies the weights at every cycle end.

Snapshots are plain lists of numpy arrays in the order of ``model.get_weights()``;
:mod:`sksnapshot._inference` evaluates them.
"""

from collections import defaultdict
from contextlib import contextmanager

import keras
import numpy as np
import tensorflow as tf

__all__ = ["SnapshotCallback"]


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

    With several networks side by side (``n_networks > 1``, every weight with a leading
    network axis), the check is per network: a network whose weights are not all finite
    at a cycle end is *failed* from that snapshot on (``networks`` says which networks
    of every snapshot are members) while the others keep training; only when no
    network is left does training stop (``"weights"``).

    Parameters
    ----------
    snapshot_steps : sequence of int
        Optimizer step count at the end of every cycle, in order.
    n_networks : int, default=1
        Networks on the leading axis of every weight (1: no network axis).
    failed : sequence of int, default=()
        Networks that failed in an earlier fit (``warm_start``): never members again.

    Attributes
    ----------
    snapshots : list of list of ndarray
        The snapshots of the finished cycles.
    networks : list of ndarray of bool
        For every snapshot, which of its networks are members (finite).
    failed : dict
        ``{network: snapshot index}`` of the networks that failed in this run while
        others were left: they are not members from that snapshot of the run on.
    last_networks : list of int
        The networks left when the last ones failed together (``"weights"``).
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

    def __init__(self, snapshot_steps, n_networks=1, failed=()):
        super().__init__()
        self.snapshot_steps = [int(s) for s in snapshot_steps]
        self.n_networks = int(n_networks)
        self._failed_before = np.zeros(self.n_networks, bool)
        self._failed_before[list(failed)] = True
        self.snapshots = []
        self.networks = []
        self.failed = {}
        self.last_networks = []
        self.history = defaultdict(list)
        self.stop_reason = None
        self.stop_value = None
        # A callable giving the (step, weights) the training program read at the end of
        # its last call, or None (then the model is read): set by whoever runs the
        # training where nothing else can change the weights before the cycle's end.
        self.state_source = None

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
        state = self.state_source() if self.state_source is not None else None
        step, weights = state if state is not None else _step_and_weights(self.model)
        expected = self.snapshot_steps[len(self.snapshots)]
        if step != expected:
            if self.model.stop_training:  # another callback stopped the cycle midway
                self._stop("callback")
                return
            raise RuntimeError(
                f"Snapshot {len(self.snapshots) + 1} was due after step {expected}, but "
                f"the optimizer is at step {step}."
            )
        if self.n_networks == 1:
            members = np.array([all(np.isfinite(w).all() for w in weights)])
        else:
            axes = [tuple(range(1, w.ndim)) for w in weights]
            finite = [np.isfinite(w).all(axis=a) for w, a in zip(weights, axes, strict=True)]
            # A failed network stays failed (its weights are not trusted again).
            known = self.networks[-1] if self.networks else ~self._failed_before
            members = np.logical_and.reduce(finite) & known
        if not members.any():
            if self.n_networks > 1:  # the networks that were left, named in the warning
                self.last_networks = [int(n) for n in np.flatnonzero(known)]
            self._stop("weights")
            return
        known = self.networks[-1] if self.networks else ~self._failed_before
        for network in np.flatnonzero(known & ~members):
            self.failed[int(network)] = len(self.snapshots)
        self.snapshots.append(weights)
        self.networks.append(members)
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


def _step_and_weights(model):
    """The optimizer's step count and a copy of ``model.get_weights()``, read at once.

    One TensorFlow call reads every variable (``get_weights`` makes one per variable,
    and reading the step count another): a snapshot costs a fraction of a millisecond.
    Under a ``tf.distribute`` strategy Keras' own reads are used.
    """
    variables = [*model.weights, model.optimizer.iterations]
    if not tf.distribute.has_strategy() and all(isinstance(v, keras.Variable) for v in variables):
        values = tf.identity_n([v.value for v in variables])
        return int(values[-1]), [np.array(v, copy=True) for v in values[:-1]]
    step = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    return step, [np.array(w, copy=True) for w in model.get_weights()]


def _as_float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value
