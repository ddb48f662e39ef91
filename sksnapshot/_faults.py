"""What a fit does when training fails part-way: keep finished work, say what happened.

Two rules, for every estimator of the package:

* A run that stops before its last cycle (the loss became NaN or inf, the weights stopped
  being finite, the user pressed Ctrl-C, a callback stopped training) keeps the snapshots
  of the cycles it finished and predicts with them, after a warning that says how many
  cycles finished and what to change. If it finished no cycle, ``fit`` raises (or lets
  the ``KeyboardInterrupt`` through).
* With several networks side by side (``n_networks``), a network whose weights stop
  being finite is dropped from that cycle's snapshot on, with a warning naming it, and
  the others train on; the rule above applies when no network is left.
* A ``fit`` that raises leaves the estimator as it was before the call: a fitted
  estimator stays fitted with its previous snapshots, an unfitted one stays unfitted.

And one for prediction: a network output that is NaN or infinite (float32 activations
that overflowed) raises a ``FloatingPointError`` that says why, instead of becoming NaN
probabilities or predictions.
"""

import warnings
from contextlib import contextmanager

import numpy as np
from sklearn.exceptions import ConvergenceWarning

__all__ = ["checked_outputs", "conclude_training", "restored_on_failure"]

_ADVICE = (
    "Lower max_learning_rate (now {rate:g}) or scale the inputs (e.g. with "
    "sklearn.preprocessing.StandardScaler in a Pipeline)."
)


def _what_happened(snapshotter):
    cycle = len(snapshotter.snapshots) + 1
    reason = snapshotter.stop_reason
    if reason == "loss":
        return f"the training loss became {snapshotter.stop_value} in cycle {cycle}"
    if reason == "weights" and snapshotter.last_networks:
        names = ", ".join(f"network {n}" for n in snapshotter.last_networks)
        return (
            f"the weights of the last network(s) left ({names} of "
            f"{snapshotter.n_networks}) were no longer finite (NaN or inf) at the end of "
            f"cycle {cycle}"
        )
    if reason == "weights":
        return f"the weights were no longer finite (NaN or inf) at the end of cycle {cycle}"
    if reason == "interrupt":
        return f"training was interrupted (KeyboardInterrupt) in cycle {cycle}"
    return f"a callback stopped training in the middle of cycle {cycle}"


def conclude_training(estimator, snapshotter):
    """Report a run that stopped early; raise if it finished no cycle.

    Called after the training loop with the run's
    :class:`~sksnapshot._snapshots.SnapshotCallback`. A run that finished all its cycles
    passes silently, as does one that a user's callback (``EarlyStopping``) ended on a
    cycle boundary. Otherwise, with at least one finished cycle, the network's weights
    are set back to the last snapshot (those of a diverged run are NaN) and a warning
    says what happened: a ``ConvergenceWarning`` for divergence, a ``UserWarning`` for
    an interruption or a cycle cut short by a callback.

    Raises
    ------
    FloatingPointError
        When the run diverged before its first snapshot.
    KeyboardInterrupt
        When it was interrupted before its first snapshot.
    RuntimeError
        When a callback stopped it before its first snapshot.
    """
    name = type(estimator).__name__
    _report_failed_networks(estimator, snapshotter)
    reason = snapshotter.stop_reason
    if reason is None or reason == "early_stopping":
        return
    finished, planned = len(snapshotter.snapshots), snapshotter.n_planned
    what = f"{_what_happened(snapshotter)} of {planned}"
    diverged = reason in ("loss", "weights")
    advice = _ADVICE.format(rate=estimator.max_learning_rate)
    if finished == 0:
        if reason == "interrupt":
            raise KeyboardInterrupt(
                f"{name}.fit was interrupted in cycle 1 of {planned}, before any snapshot "
                "was taken; the estimator is left as it was before this fit."
            )
        message = f"{name}.fit took no snapshot: {what}, before the first cycle ended."
        if diverged:
            raise FloatingPointError(f"{message} {advice}")
        raise RuntimeError(message)
    snapshotter.model.set_weights(snapshotter.snapshots[-1])
    message = (
        f"{name}: {what}. {finished} of {planned} cycles finished; their snapshots are "
        "kept and the estimator predicts with them."
    )
    if diverged:
        warnings.warn(f"{message} {advice}", ConvergenceWarning, stacklevel=2)
    else:
        warnings.warn(message, UserWarning, stacklevel=2)


def _report_failed_networks(estimator, snapshotter):
    """One ``ConvergenceWarning`` per network that failed while others trained on."""
    advice = _ADVICE.format(rate=estimator.max_learning_rate)
    for network, index in sorted(snapshotter.failed.items()):
        warnings.warn(
            f"{type(estimator).__name__}: network {network} of {snapshotter.n_networks} "
            "stopped having finite weights (NaN or inf: its loss diverged) in cycle "
            f"{index + 1} of {snapshotter.n_planned}. Its snapshots from that cycle on "
            "are dropped (snapshot_networks_); the other networks kept training and the "
            f"estimator predicts with the finished members. {advice}",
            ConvergenceWarning,
            stacklevel=3,
        )


@contextmanager
def restored_on_failure(estimator):
    """Run a ``fit``; if it raises, put the estimator's attributes back as they were.

    ``fit`` replaces fitted attributes (``classes_``, ``model_``) before it trains:
    without this, a failed ``fit`` on a fitted estimator would leave it half-fitted. A
    network that a warm-started fit trained in place is set back to its last
    snapshot's weights.
    """
    state = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(state)
        snapshots = state.get("snapshots_")
        model = state.get("model_")
        if snapshots and model is not None:
            try:
                model.set_weights(snapshots[-1])
            except ValueError:  # pragma: no cover - a network that no longer matches
                pass
        raise


def checked_outputs(estimator, outputs, X):
    """Return the network ``outputs`` for the rows of ``X``; raise if any is not finite.

    ``outputs`` has the rows on its second-to-last axis (one member, the mean of the
    members, or every member stacked in front).
    """
    # A NaN or inf anywhere makes the sum non-finite: one cheap pass in the usual case.
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(outputs.sum()):
            return outputs
    finite = np.isfinite(outputs)
    if finite.all():  # finite values whose sum overflowed
        return outputs
    bad = ~finite.all(axis=-1)
    bad_rows = int(bad.reshape(-1, bad.shape[-1]).any(axis=0).sum())
    losses = np.asarray(getattr(estimator, "history_", {}).get("loss", []), dtype=float)
    trained = (
        f"the training loss reached {np.nanmax(np.abs(losses)):.3g}, "
        if losses.size and np.isfinite(losses).any()
        else ""
    )
    magnitude = np.nanmax(np.abs(X)) if np.size(X) else 0.0
    raise FloatingPointError(
        f"{type(estimator).__name__}: the network's output is not finite (NaN or inf) for "
        f"{bad_rows} of {outputs.shape[-2]} rows of X: its float32 activations overflowed. "
        f"Either training diverged ({trained}the weights grew very large) or X is far "
        f"outside the training data's scale (largest |value| here: {magnitude:.3g}). "
        "Scale the inputs (e.g. with sklearn.preprocessing.StandardScaler in a Pipeline) "
        "or lower max_learning_rate, and fit again."
    )
