"""What differs between a classification and a regression comparison.

A :class:`CompareTask` says how ``sksnapshot compare`` scores a fold (which prediction
call, which metrics), how it splits the rows into folds, and how it scores every
snapshot of a snapshot ensemble; everything else (cross-validation, summaries, paired
gains, tables, files, figures) is shared and reads the metrics from the task.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold

from .. import SnapshotEnsembleClassifier, SnapshotEnsembleRegressor
from .._inspection import (
    averages_outputs,
    prediction_scores,
    proba_scores,
    snapshot_outputs,
    top_label,
    unwrap,
)
from ._reference import _curve_dict, snapshot_scores

__all__ = ["TASKS", "CompareTask", "Metric", "members_used", "regression_snapshot_scores"]


@dataclass(frozen=True)
class Metric:
    """A score reported per fold.

    Attributes
    ----------
    key : str
        Name of the column (``"accuracy"``, ``"rmse"``...).
    label : str
        How tables and figures name it.
    higher_is_better : bool
        False for losses and errors: a paired gain is better when negative.
    best : float or None
        The best possible value when it bounds the score (1 for accuracy and R²).
    worst : float or None
        The worst possible value when it bounds the score (0 for accuracy).
    per_dataset : bool
        Its scale differs between datasets (errors in the target's units): figures
        give every dataset an axis of its own.
    """

    key: str
    label: str
    higher_is_better: bool
    best: float | None = None
    worst: float | None = None
    per_dataset: bool = False


def members_used(estimator):
    """How many snapshots a fitted snapshot ensemble predicts with."""
    return int(estimator.n_members_)


class CompareTask:
    """Scoring, folds and per-snapshot scores of one kind of problem (see subclasses)."""

    name = None
    snapshot_class = None
    metrics = ()
    #: Key and meaning of the members' spread recorded for snapshot ensembles.
    spread_key = None
    #: Words for the folds, e.g. "stratified".
    cv_words = ""
    #: How the networks are fed, for the table's header.
    setup = ""

    def splitter(self, n_splits, n_repeats, random_state):
        """The repeated K-fold of this task."""
        raise NotImplementedError

    def score(self, estimator, X, y, keep=None):
        """The metrics of a fitted estimator on ``(X, y)``, from one prediction call.

        ``keep``, a list, receives what the task's calibration figures need of the
        prediction (classification: the top-label confidence and correctness of every
        row, see :func:`~sksnapshot._inspection.top_label`); nothing for regression.
        """
        raise NotImplementedError

    def snapshot_scores(self, estimator, X, y):
        """Every snapshot's and every last-k ensemble's metrics, and the members' spread.

        Returns
        -------
        scores : dict
            ``member``: dict of metric key to ndarray of shape (n_snapshots,), every
            snapshot alone, oldest first (with several networks, the mean over the
            snapshot's networks); ``last_k``: the same for the ensemble of the last k
            snapshots at index k - 1 (combined as the estimator combines); ``spread``:
            float, see ``spread_key``; ``n_snapshots`` and ``n_members``: snapshots
            taken and snapshots the estimator predicts with; ``n_networks``: networks
            per snapshot. With several networks also ``network_member`` (every member,
            shape (n_snapshots, n_networks)) and, when the estimator averages outputs,
            ``one_network`` (one network's ensemble of its last k snapshots, averaged
            over the networks), each a dict of metric key to ndarray.
        """
        scores = self._flat_snapshot_scores(estimator, X, y)
        inner = unwrap(estimator).estimator
        keys = [metric.key for metric in self.metrics]
        result = {
            "member": {key: scores[f"member_{key}"] for key in keys},
            "last_k": {key: scores[f"ensemble_{key}"] for key in keys},
            "spread": scores[self.spread_key],
            "n_snapshots": len(inner.snapshots_),
            "n_members": members_used(inner),
            "n_networks": int(inner.snapshot_networks_.shape[1]),
        }
        for prefix in ("network_member", "one_network"):
            if f"{prefix}_{keys[0]}" in scores:
                result[prefix] = {key: scores[f"{prefix}_{key}"] for key in keys}
        return result

    def _flat_snapshot_scores(self, estimator, X, y):
        """The scores of the task's public per-snapshot function (see subclasses)."""
        raise NotImplementedError

    def format_spread(self, value):
        """The members' spread in words."""
        raise NotImplementedError

    def metric(self, key):
        """The :class:`Metric` named ``key``."""
        return next(metric for metric in self.metrics if metric.key == key)


class _Classification(CompareTask):
    name = "classification"
    snapshot_class = SnapshotEnsembleClassifier
    metrics = (
        Metric("accuracy", "accuracy", higher_is_better=True, best=1.0, worst=0.0),
        Metric("log_loss", "log loss", higher_is_better=False),
        # Squared error summed over classes, mean over rows (0 to 2).
        Metric("brier", "Brier", higher_is_better=False),
        # Top-label expected calibration error, 15 equal-width bins.
        Metric("ece", "top-label ECE", higher_is_better=False),
    )
    spread_key = "disagreement"
    cv_words = "stratified "
    setup = "inputs standardized"

    def splitter(self, n_splits, n_repeats, random_state):
        return RepeatedStratifiedKFold(
            n_splits=n_splits, n_repeats=n_repeats, random_state=random_state
        )

    def score(self, estimator, X, y, keep=None):
        proba = estimator.predict_proba(X)
        if keep is not None:
            keep.append(top_label(y, estimator.classes_, proba))
        return proba_scores(y, estimator.classes_, proba)

    def _flat_snapshot_scores(self, estimator, X, y):
        return snapshot_scores(estimator, X, y)

    def format_spread(self, value):
        return f"members disagree on {100 * value:.1f} % of the rows"


def regression_snapshot_scores(estimator, X, y):
    """R² and RMSE of every snapshot and of the ensemble of the last k; the members' spread.

    Parameters
    ----------
    estimator : fitted SnapshotEnsembleRegressor, or a Pipeline ending in one, or a
        TransformedTargetRegressor around either
        A ``Pipeline``'s other steps transform ``X`` first; a
        ``TransformedTargetRegressor``'s transformer (affine, such as
        ``StandardScaler``) brings the predictions back to the units of ``y``.
    X : array-like of shape (n_samples, n_features)
        Rows to score on.
    y : array-like of shape (n_samples,)
        Their targets.

    Returns
    -------
    scores : dict
        ``member_r2``, ``member_rmse``: every snapshot alone, oldest first;
        ``ensemble_r2``, ``ensemble_rmse``: the ensemble of the last k snapshots at
        index k - 1; ``member_std``: the standard deviation of the predicting members'
        predictions (``predict(X, return_std=True)``), in the units of ``y``, averaged
        over the rows. With ``n_networks > 1``, as in :func:`snapshot_scores`:
        ``member_*`` is the mean over a snapshot's networks, and
        ``network_member_r2``, ``network_member_rmse`` (every member) and, with
        ``combine="members"``, ``one_network_r2``, ``one_network_rmse`` (one network's
        ensemble of its last k snapshots, averaged over the networks) are added.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sksnapshot import SnapshotEnsembleRegressor
    >>> from sksnapshot.experiments import regression_snapshot_scores
    >>> X, y = make_regression(n_samples=80, n_features=3, noise=5.0, random_state=0)
    >>> reg = SnapshotEnsembleRegressor(hidden_layer_sizes=(8,), n_cycles=3, epochs=6,
    ...                                 max_learning_rate=0.01, random_state=0)
    >>> scores = regression_snapshot_scores(reg.fit(X, y / 100), X, y / 100)
    >>> scores["member_rmse"].shape, scores["ensemble_r2"].shape
    ((3,), (3,))
    """
    y = np.asarray(y, dtype=np.float64)
    members, staged = snapshot_outputs(estimator, X, by_network=True)
    inner, X, transformer = unwrap(estimator, X)
    _, std = inner.predict(X, return_std=True)
    std = std.reshape(len(std), -1)
    if transformer is not None:
        # An affine transform multiplies a spread by the size of its slope.
        zero = np.zeros((1, std.shape[1]))
        slope = transformer.inverse_transform(zero + 1) - transformer.inverse_transform(zero)
        std = std * np.abs(slope)
    scores = _curve_dict(y, members, staged, ("r2", "rmse"), None, averages_outputs(inner))
    return scores | {"member_std": float(np.mean(std))}


class _Regression(CompareTask):
    name = "regression"
    snapshot_class = SnapshotEnsembleRegressor
    metrics = (
        Metric("r2", "R²", higher_is_better=True, best=1.0),
        Metric("rmse", "RMSE", higher_is_better=False, per_dataset=True),
    )
    spread_key = "member_std"
    setup = "inputs and targets standardized (the targets by a TransformedTargetRegressor)"

    def splitter(self, n_splits, n_repeats, random_state):
        return RepeatedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=random_state)

    def prediction_scores(self, y, prediction):
        """R² and RMSE of ``prediction``."""
        return prediction_scores(y, prediction)

    def score(self, estimator, X, y, keep=None):
        return self.prediction_scores(y, estimator.predict(X))

    def _flat_snapshot_scores(self, estimator, X, y):
        return regression_snapshot_scores(estimator, X, y)

    def format_spread(self, value):
        return f"members' predictions spread by {value:.3g} (std, mean over rows)"


#: The two kinds of comparison, by name.
TASKS = {"classification": _Classification(), "regression": _Regression()}
