"""Looking inside fitted snapshot ensembles through their public API only.

Shared by :mod:`sksnapshot.plotting` and :mod:`sksnapshot.experiments`: finding the
snapshot ensemble inside a fitted ``Pipeline`` or ``TransformedTargetRegressor``
(:func:`unwrap`), the outputs of every snapshot and of every ensemble of the last k
(:func:`snapshot_outputs`), and scoring stacks of such outputs (:func:`stack_scores`,
:func:`proba_scores`). It reads only public estimator methods and fitted attributes.
"""

from typing import NamedTuple

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.metrics import log_loss, r2_score, root_mean_squared_error
from sklearn.pipeline import Pipeline

__all__ = [
    "PROBA_METRICS",
    "Unwrapped",
    "accuracy",
    "prediction_scores",
    "proba_scores",
    "snapshot_outputs",
    "stack_scores",
    "unwrap",
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


def snapshot_outputs(estimator, X):
    """Every snapshot's and every last-k ensemble's probabilities or predictions.

    Parameters
    ----------
    estimator : fitted snapshot ensemble, possibly wrapped (see :func:`unwrap`)
        A classifier gives class probabilities; a regressor gives predictions in the
        units of ``y`` (a ``TransformedTargetRegressor``'s transformer undone).
    X : array-like of shape (n_samples, n_features)
        Rows to predict.

    Returns
    -------
    members : ndarray of shape (n_snapshots, n_samples, ...)
        Every snapshot alone, oldest first.
    last_k : ndarray of shape (n_snapshots, n_samples, ...)
        The ensemble of the last k snapshots at index k - 1.
    """
    estimator, X, transformer = unwrap(estimator, X)
    if hasattr(estimator, "member_predict_proba"):
        members = estimator.member_predict_proba(X)
        return members, np.array(list(estimator.staged_predict_proba(X)))
    members = np.array([_original_units(transformer, p) for p in estimator.member_predict(X)])
    staged = np.array([_original_units(transformer, p) for p in estimator.staged_predict(X)])
    return members, staged


def accuracy(y, classes, proba):
    """Accuracy of the most probable class of ``proba`` against ``y``."""
    return np.mean(classes[proba.argmax(axis=1)] == y)


def _log_loss(y, classes, proba):
    return log_loss(y, proba, labels=classes)


#: Scores of class probabilities, by name: ``f(y, classes, proba)``.
PROBA_METRICS = {"accuracy": accuracy, "log_loss": _log_loss}


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
    metric : {"accuracy", "log_loss", "r2", "rmse"}
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
