"""Bayes-optimal classification of isotropic Gaussian clusters (``make_blobs`` data).

``make_blobs`` draws every class from a Gaussian with mean ``centers[k]`` and covariance
``cluster_std**2 * I``. Knowing the centers, the posterior of every class is exact, and
the classifier that picks the most probable class (the Bayes classifier) has the highest
accuracy any classifier can reach on average. With equal priors and one common standard
deviation, it is the nearest-center rule.
"""

import numpy as np
from scipy.special import softmax
from sklearn.utils.validation import check_array, check_consistent_length, column_or_1d

__all__ = ["bayes_accuracy", "bayes_posterior"]


def _check_problem(X, centers, cluster_std, priors):
    X = check_array(X, dtype=np.float64)
    centers = check_array(centers, dtype=np.float64)
    if centers.shape[1] != X.shape[1]:
        raise ValueError(
            f"centers have {centers.shape[1]} features but X has {X.shape[1]}: they must "
            "live in the same space."
        )
    n_classes = centers.shape[0]
    std = np.broadcast_to(np.asarray(cluster_std, dtype=np.float64), (n_classes,))
    if np.any(std <= 0):
        raise ValueError(f"cluster_std must be positive, got {cluster_std!r}.")
    if priors is None:
        priors = np.full(n_classes, 1.0 / n_classes)
    else:
        priors = column_or_1d(priors).astype(np.float64)
        if priors.shape != (n_classes,) or np.any(priors <= 0):
            raise ValueError(
                f"priors must be {n_classes} positive numbers (one per center), got {priors!r}."
            )
        priors = priors / priors.sum()
    return X, centers, std, priors


def bayes_posterior(X, centers, cluster_std, priors=None):
    """Exact class posteriors of isotropic Gaussian clusters.

    ``P(k | x)`` is proportional to ``priors[k] * N(x; centers[k], cluster_std[k]**2 I)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Points to classify.
    centers : array-like of shape (n_classes, n_features)
        Mean of every class (``make_blobs(..., return_centers=True)`` returns them);
        class ``k`` is row ``k``.
    cluster_std : float or array-like of shape (n_classes,)
        Standard deviation of every class, as given to ``make_blobs``.
    priors : array-like of shape (n_classes,), default=None
        Class probabilities; ``None`` means equal priors (``make_blobs`` with an integer
        ``n_samples`` draws nearly equal class sizes).

    Returns
    -------
    posterior : ndarray of shape (n_samples, n_classes)

    Examples
    --------
    >>> from sksnapshot.experiments import bayes_posterior
    >>> bayes_posterior([[0.0], [1.0]], centers=[[-1.0], [1.0]], cluster_std=1.0).round(3)
    array([[0.5  , 0.5  ],
           [0.119, 0.881]])
    """
    X, centers, std, priors = _check_problem(X, centers, cluster_std, priors)
    n_features = X.shape[1]
    sq_dist = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    log_joint = np.log(priors) - n_features * np.log(std) - sq_dist / (2 * std**2)
    return softmax(log_joint, axis=1)


def bayes_accuracy(X, y, centers, cluster_std, priors=None):
    """Accuracy of the Bayes classifier of isotropic Gaussian clusters on ``(X, y)``.

    The Bayes classifier predicts the class of highest posterior (see
    :func:`bayes_posterior`); with equal priors and one standard deviation this is the
    nearest center. On average over data drawn from the clusters no classifier is more
    accurate; on a finite sample the value is that sample's own limit.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Points.
    y : array-like of shape (n_samples,)
        Their classes, as indices of ``centers`` (``make_blobs``' labels).
    centers : array-like of shape (n_classes, n_features)
        Mean of every class, as in :func:`bayes_posterior`.
    cluster_std : float or array-like of shape (n_classes,)
        Standard deviation of every class, as in :func:`bayes_posterior`.
    priors : array-like of shape (n_classes,), default=None
        Class probabilities, as in :func:`bayes_posterior` (``None``: equal priors).

    Returns
    -------
    accuracy : float

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sksnapshot.experiments import bayes_accuracy
    >>> X, y, centers = make_blobs(n_samples=1100, centers=3, cluster_std=2,
    ...                            random_state=2, return_centers=True)
    >>> float(bayes_accuracy(X[100:], y[100:], centers, cluster_std=2))
    0.837
    """
    y = column_or_1d(y)
    check_consistent_length(X, y)
    predicted = bayes_posterior(X, centers, cluster_std, priors).argmax(axis=1)
    return float(np.mean(predicted == y))
