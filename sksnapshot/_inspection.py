"""Looking inside fitted snapshot ensembles through their public API only.

Shared by :mod:`sksnapshot.plotting` and :mod:`sksnapshot.experiments`: finding the
snapshot ensemble inside a fitted ``Pipeline`` or ``TransformedTargetRegressor``
(:func:`unwrap`), the outputs of every snapshot and of every ensemble of the last k
(:func:`snapshot_outputs`; with several networks per snapshot, every network's own
last-k ensemble, :func:`one_network_last_k`), and scoring stacks of such outputs
(:func:`stack_scores`, :func:`grid_scores`, :func:`proba_scores`; among the scores, the
Brier score :func:`brier_score` and the top-label expected calibration error
:func:`expected_calibration_error`). It reads only public estimator methods and fitted
attributes.
"""

import warnings
from typing import NamedTuple

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.metrics import brier_score_loss, log_loss, r2_score, root_mean_squared_error
from sklearn.pipeline import Pipeline

__all__ = [
    "PROBA_METRICS",
    "Unwrapped",
    "accuracy",
    "averages_outputs",
    "brier_score",
    "curve_scores",
    "expected_calibration_error",
    "grid_scores",
    "one_network_last_k",
    "prediction_scores",
    "proba_scores",
    "snapshot_outputs",
    "stack_scores",
    "top_label",
    "top_label_ece",
    "unwrap",
    "valid_members",
]


class Unwrapped(NamedTuple):
    """A snapshot ensemble found inside a fitted estimator.

    Attributes
    ----------
    estimator : estimator
        The innermost estimator: the last step of a ``Pipeline``, the regressor of a
        ``TransformedTargetRegressor``.
    X : array-like or None
        The rows given to :func:`unwrap`, transformed by the ``Pipeline``'s other steps.
    target_transformer : transformer or None
        The fitted ``transformer_`` of a ``TransformedTargetRegressor``.
    """

    estimator: object
    X: object
    target_transformer: object


def unwrap(estimator, X=None):
    """The estimator inside a fitted ``TransformedTargetRegressor`` and/or ``Pipeline``.

    Parameters
    ----------
    estimator : fitted estimator
        A snapshot ensemble, a ``Pipeline`` ending in one, or a
        ``TransformedTargetRegressor`` around either.
    X : array-like of shape (n_samples, n_features), default=None
        Rows to pass through the ``Pipeline``'s other steps.

    Returns
    -------
    unwrapped : Unwrapped
    """
    transformer = None
    if isinstance(estimator, TransformedTargetRegressor):
        transformer, estimator = estimator.transformer_, estimator.regressor_
    if isinstance(estimator, Pipeline):
        if X is not None:
            X = estimator[:-1].transform(X)
        estimator = estimator[-1]
    return Unwrapped(estimator, X, transformer)


def _original_units(transformer, prediction):
    """``prediction`` brought back to the units of ``y`` by a target transformer."""
    if transformer is None:
        return prediction
    flat = prediction.reshape(len(prediction), -1)
    return transformer.inverse_transform(flat).reshape(prediction.shape)


def _n_networks(estimator):
    """Networks trained side by side by a fitted snapshot ensemble (1 without the attribute)."""
    networks = getattr(estimator, "snapshot_networks_", None)
    return 1 if networks is None else int(networks.shape[1])


def snapshot_outputs(estimator, X, *, by_network=False):
    """Every snapshot's and every last-k ensemble's probabilities or predictions.

    Parameters
    ----------
    estimator : fitted snapshot ensemble, possibly wrapped (see :func:`unwrap`)
        A classifier gives class probabilities; a regressor gives predictions in the
        units of ``y`` (a ``TransformedTargetRegressor``'s transformer undone).
    X : array-like of shape (n_samples, n_features)
        Rows to predict.
    by_network : bool, default=False
        Give the members a network axis: ``members[s, n]`` is network ``n`` in
        snapshot ``s``, NaN where that pair is not a member (``snapshot_networks_``
        False: the network had diverged). Needed for an estimator fitted with
        ``n_networks > 1``, whose snapshots hold several members each.

    Returns
    -------
    members : ndarray of shape (n_snapshots, n_samples, ...)
        Every snapshot alone, oldest first; with ``by_network=True`` of shape
        ``(n_snapshots, n_networks, n_samples, ...)`` (``n_networks`` is 1 for an
        estimator fitted with one network).
    last_k : ndarray of shape (n_snapshots, n_samples, ...)
        The ensemble of the last k snapshots (all their networks) at index k - 1.

    Raises
    ------
    ValueError
        With ``by_network=False`` for an estimator fitted with ``n_networks > 1``.
    """
    estimator, X, transformer = unwrap(estimator, X)
    n_networks = _n_networks(estimator)
    if n_networks > 1 and not by_network:
        raise ValueError(
            f"The estimator was fitted with n_networks={n_networks}: every snapshot has "
            f"{n_networks} members. Use by_network=True to get them with a network axis."
        )
    if hasattr(estimator, "member_predict_proba"):
        members = estimator.member_predict_proba(X)
        staged = np.array(list(estimator.staged_predict_proba(X)))
    else:
        members = np.array([_original_units(transformer, p) for p in estimator.member_predict(X)])
        staged = np.array([_original_units(transformer, p) for p in estimator.staged_predict(X)])
    if by_network:
        members = _network_grid(members, getattr(estimator, "snapshot_networks_", None))
    return members, staged


def _network_grid(members, networks):
    """``(n_members, ...)`` member outputs placed on a ``(n_snapshots, n_networks, ...)`` grid.

    ``networks`` is ``snapshot_networks_`` (members ordered by snapshot, then network);
    the pairs that are not members are NaN. ``None`` means one network, all members.
    """
    members = np.asarray(members)
    if networks is None:
        networks = np.ones((len(members), 1), dtype=bool)
    # The members' own dtype: with one network the scores are exactly those of
    # by_network=False (log_loss clips by the dtype's epsilon).
    grid = np.full(networks.shape + members.shape[1:], np.nan, dtype=members.dtype)
    grid[networks] = members
    return grid


def averages_outputs(estimator):
    """Whether a snapshot ensemble's last-k ensembles are the mean of its members' outputs.

    True for ``combine="members"`` with soft voting (the defaults): then
    :func:`one_network_last_k` combines one network's members as the estimator combines
    all of them. False for ``combine="weights"`` (weights averaged, not outputs) and
    ``voting="hard"``.
    """
    estimator = unwrap(estimator).estimator
    return estimator.combine == "members" and getattr(estimator, "voting", "soft") == "soft"


def one_network_last_k(members):
    """The ensemble of the last k snapshots of every network on its own.

    The mean of network ``n``'s outputs over the last k snapshots where it is a member:
    how a snapshot ensemble of that one network (``combine="members"``, soft voting)
    predicts.

    Parameters
    ----------
    members : ndarray of shape (n_snapshots, n_networks, n_samples, ...)
        Outputs of every (snapshot, network) pair, NaN where the pair is not a member,
        as :func:`snapshot_outputs` gives them with ``by_network=True``.

    Returns
    -------
    last_k : ndarray of shape (n_snapshots, n_networks, n_samples, ...)
        ``last_k[k - 1, n]`` is network ``n``'s ensemble of its last k snapshots; NaN
        where network ``n`` is a member of none of them.
    """
    members = np.asarray(members, dtype=np.float64)
    newest_first = members[::-1]
    present = np.isfinite(newest_first)
    sums = np.cumsum(np.where(present, newest_first, 0.0), axis=0)
    counts = np.cumsum(present, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def accuracy(y, classes, proba):
    """Accuracy of the most probable class of ``proba`` against ``y``."""
    return np.mean(classes[proba.argmax(axis=1)] == y)


def _log_loss(y, classes, proba):
    return log_loss(y, proba, labels=classes)


def brier_score(y, classes, proba):
    """Brier score of class probabilities: squared errors summed over classes, mean over rows.

    ``mean_i sum_c (proba[i, c] - [y_i == classes[c]]) ** 2``, between 0 (certain and
    right) and 2 (certain and wrong); lower is better. This is scikit-learn's
    multiclass ``brier_score_loss`` (``scale_by_half=False``), used for binary problems
    too: there it is twice the usual binary Brier score ``mean_i (p_i - y_i) ** 2``, so
    that every problem has the same definition.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The true labels.
    classes : ndarray of shape (n_classes,)
        The classes of the probabilities' columns.
    proba : ndarray of shape (n_samples, n_classes)
        Class probabilities.

    Returns
    -------
    brier : float
        The Brier score, between 0 and 2.

    Examples
    --------
    >>> import numpy as np
    >>> from sksnapshot.experiments import brier_score
    >>> proba = np.array([[0.8, 0.2], [0.4, 0.6]])
    >>> round(brier_score(np.array([0, 0]), np.array([0, 1]), proba), 3)  # (0.08 + 0.72) / 2
    0.4
    """
    return float(brier_score_loss(y, proba, labels=classes, scale_by_half=False))


def top_label(y, classes, proba):
    """The top-label confidence of every row and whether its top label is right.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The true labels.
    classes : ndarray of shape (n_classes,)
        The classes of the probabilities' columns.
    proba : ndarray of shape (n_samples, n_classes)
        Class probabilities.

    Returns
    -------
    confidence : ndarray of shape (n_samples,)
        The largest probability of every row.
    correct : ndarray of shape (n_samples,), dtype=bool
        Whether the class of that probability is ``y``.
    """
    proba = np.asarray(proba)
    return proba.max(axis=1), np.asarray(classes)[proba.argmax(axis=1)] == np.asarray(y)


def expected_calibration_error(y, classes, proba, n_bins=15):
    """Top-label expected calibration error (ECE) with equal-width bins.

    The rows are binned by their top-label confidence ``max_c proba[i, c]`` into
    ``n_bins`` equal-width bins of [0, 1] (bin ``b`` holds the confidences in
    ``(b / n_bins, (b + 1) / n_bins]``, the first bin also 0: the bins of
    ``sklearn.calibration.calibration_curve``). Then::

        ECE = sum over bins of (n_bin / n) * |accuracy_in_bin - mean_confidence_in_bin|

    where ``accuracy_in_bin`` is the fraction of the bin's rows whose most probable
    class is right. 0 when the confidence matches the accuracy in every bin; lower is
    better. (Guo et al., *On Calibration of Modern Neural Networks*, ICML 2017.)

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The true labels.
    classes : ndarray of shape (n_classes,)
        The classes of the probabilities' columns.
    proba : ndarray of shape (n_samples, n_classes)
        Class probabilities.
    n_bins : int, default=15
        Number of equal-width confidence bins.

    Returns
    -------
    ece : float
        The top-label expected calibration error, between 0 and 1.

    Examples
    --------
    >>> import numpy as np
    >>> from sksnapshot.experiments import expected_calibration_error
    >>> proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.4, 0.6]])
    >>> y = np.array([0, 1, 0, 1])
    >>> # bin of 0.9: accuracy 1/2, confidence 0.9; bin of 0.6: accuracy 1, confidence 0.6
    >>> round(expected_calibration_error(y, np.array([0, 1]), proba), 3)  # 0.5*0.4 + 0.5*0.4
    0.4
    """
    return top_label_ece(*top_label(y, classes, proba), n_bins=n_bins)


def top_label_ece(confidence, correct, n_bins=15):
    """The top-label ECE of :func:`expected_calibration_error` from :func:`top_label`'s output.

    Parameters
    ----------
    confidence : array-like of shape (n_samples,)
        Top-label confidences, in [0, 1].
    correct : array-like of shape (n_samples,)
        Whether each row's top label is right.
    n_bins : int, default=15
        Number of equal-width confidence bins.

    Returns
    -------
    ece : float
        The top-label expected calibration error, between 0 and 1.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}.")
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], confidence)
    # Per bin, n_bin * |accuracy - mean confidence| = |sum of (correct - confidence)|.
    gap = np.bincount(bins, weights=correct - confidence, minlength=n_bins)
    return float(np.sum(np.abs(gap)) / len(confidence))


def _ece(y, classes, proba):
    return expected_calibration_error(y, classes, proba)


#: Scores of class probabilities, by name: ``f(y, classes, proba)``.
PROBA_METRICS = {"accuracy": accuracy, "log_loss": _log_loss, "brier": brier_score, "ece": _ece}


def proba_scores(y, classes, proba):
    """Every metric of :data:`PROBA_METRICS` of one set of probabilities, as floats."""
    y = np.asarray(y)
    return {key: float(metric(y, classes, proba)) for key, metric in PROBA_METRICS.items()}


#: Scores of predictions, by name: ``f(y, prediction)``.
_PREDICTION_METRICS = {"r2": r2_score, "rmse": root_mean_squared_error}


def prediction_scores(y, prediction):
    """R² and RMSE of one prediction, as floats."""
    return {key: float(metric(y, prediction)) for key, metric in _PREDICTION_METRICS.items()}


def stack_scores(y, outputs, metric, classes=None):
    """Score of every set of outputs along the first axis against ``y``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The truth.
    outputs : array-like of shape (n_sets, n_samples, ...)
        Class probabilities (``metric`` in :data:`PROBA_METRICS`, with ``classes``) or
        predictions (``"r2"``, ``"rmse"``).
    metric : {"accuracy", "log_loss", "brier", "ece", "r2", "rmse"}
        The score.
    classes : ndarray of shape (n_classes,), default=None
        The classes of the probabilities' columns.

    Returns
    -------
    scores : ndarray of shape (n_sets,)
    """
    if metric in PROBA_METRICS:
        y = np.asarray(y)
        return np.array([PROBA_METRICS[metric](y, classes, p) for p in outputs])
    return np.array([_PREDICTION_METRICS[metric](y, p) for p in outputs])


def grid_scores(y, outputs, metric, classes=None):
    """Score of every set of outputs on a ``(n_snapshots, n_networks)`` grid against ``y``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The truth.
    outputs : array-like of shape (n_snapshots, n_networks, n_samples, ...)
        As :func:`snapshot_outputs` with ``by_network=True`` or
        :func:`one_network_last_k` give them; NaN outputs are not scored.
    metric : {"accuracy", "log_loss", "brier", "ece", "r2", "rmse"}
        The score (see :func:`stack_scores`).
    classes : ndarray of shape (n_classes,), default=None
        The classes of the probabilities' columns.

    Returns
    -------
    scores : ndarray of shape (n_snapshots, n_networks)
        NaN where the outputs are NaN (a pair that is not a member).
    """
    outputs = np.asarray(outputs)
    flat = outputs.reshape(-1, *outputs.shape[2:])
    scored = np.isfinite(flat.reshape(len(flat), -1)).all(axis=1)
    scores = np.full(len(flat), np.nan)
    if scored.any():
        scores[scored] = stack_scores(y, flat[scored], metric, classes)
    return scores.reshape(outputs.shape[:2])


def valid_members(members):
    """The members of a ``(n_snapshots, n_networks, n_samples, ...)`` grid, NaN pairs left out.

    Returns ``(n_members, n_samples, ...)``, ordered by snapshot and then network, as
    ``member_predict_proba`` and ``member_predict`` give them.
    """
    members = np.asarray(members)
    flat = members.reshape(-1, *members.shape[2:])
    return flat[np.isfinite(flat.reshape(len(flat), -1)).all(axis=1)]


def curve_scores(y, members, last_k, metric, classes=None, *, one_network=True):
    """Scores of every snapshot's members and of every last-k ensemble.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The truth.
    members : ndarray of shape (n_snapshots, n_networks, n_samples, ...)
        As :func:`snapshot_outputs` gives them with ``by_network=True``.
    last_k : ndarray of shape (n_snapshots, n_samples, ...)
        The ensembles of the last k snapshots, as :func:`snapshot_outputs` gives them.
    metric : {"accuracy", "log_loss", "brier", "ece", "r2", "rmse"}
        The score (see :func:`stack_scores`).
    classes : ndarray of shape (n_classes,), default=None
        The classes of the probabilities' columns.
    one_network : bool, default=True
        With several networks, also score every network's own last-k ensembles
        (:func:`one_network_last_k`; meaningful when :func:`averages_outputs`).

    Returns
    -------
    scores : dict of ndarray
        ``member`` of shape (n_snapshots,): the mean over a snapshot's networks of
        their scores (with one network, the snapshot's score); ``ensemble`` of shape
        (n_snapshots,): the last-k ensembles' scores. With several networks also
        ``network_member`` of shape (n_snapshots, n_networks): every member's score,
        NaN for the pairs that are not members; and, with ``one_network``,
        ``one_network`` of shape (n_snapshots,): at index k - 1 the score of one
        network's ensemble of its last k snapshots, averaged over the networks.
    """
    grid = grid_scores(y, members, metric, classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a snapshot without members
        scores = {
            "member": np.nanmean(grid, axis=1) if grid.shape[1] > 1 else grid[:, 0],
            "ensemble": stack_scores(y, last_k, metric, classes),
        }
        if grid.shape[1] > 1:
            scores["network_member"] = grid
            if one_network:
                own = grid_scores(y, one_network_last_k(members), metric, classes)
                scores["one_network"] = np.nanmean(own, axis=1)
    return scores
