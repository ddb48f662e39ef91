"""Combining snapshots: soft and hard voting, weight averaging, choosing how many to keep.

Pure numpy functions on member outputs or member weights, tested without training.
"""

import numpy as np

__all__ = ["average_weights", "best_member_count", "hard_vote", "vote_fractions"]


def average_weights(snapshots):
    """Element-wise mean of several snapshots' weights: one network (weight averaging).

    Parameters
    ----------
    snapshots : list of list of ndarray
        Weights of every member, in the order of ``model.get_weights()``.

    Returns
    -------
    weights : list of ndarray
        The averaged weights, in the same order and dtypes.

    Examples
    --------
    >>> import numpy as np
    >>> average_weights([[np.array([0.0, 2.0])], [np.array([2.0, 4.0])]])[0].tolist()
    [1.0, 3.0]
    """
    return [
        np.mean(np.stack(layer), axis=0).astype(layer[0].dtype, copy=False)
        for layer in zip(*snapshots, strict=True)
    ]


def vote_fractions(member_probas):
    """Fraction of members voting for each class (every member votes its argmax).

    Parameters
    ----------
    member_probas : ndarray of shape (n_members, n_samples, n_classes)

    Returns
    -------
    fractions : ndarray of shape (n_samples, n_classes)
        Rows sum to 1.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[[0.9, 0.1]], [[0.4, 0.6]], [[0.2, 0.8]]])
    >>> vote_fractions(p).round(3).tolist()
    [[0.333, 0.667]]
    """
    n_members, _, n_classes = member_probas.shape
    votes = np.argmax(member_probas, axis=2)
    counts = np.stack([(votes == c).sum(axis=0) for c in range(n_classes)], axis=1)
    return counts / n_members


def hard_vote(member_probas):
    """Index of the majority class; a tie goes to the tied class of highest mean probability.

    Parameters
    ----------
    member_probas : ndarray of shape (n_members, n_samples, n_classes)

    Returns
    -------
    indices : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[[0.9, 0.1]], [[0.45, 0.55]]])  # one vote each: 0.675 vs 0.325
    >>> hard_vote(p).tolist()
    [0]
    """
    fractions = vote_fractions(member_probas)
    tied = fractions == fractions.max(axis=1, keepdims=True)
    soft = member_probas.mean(axis=0)
    return np.argmax(np.where(tied, soft, -np.inf), axis=1)


def best_member_count(losses):
    """Number of last snapshots to keep: the ``k`` of smallest held-out loss.

    Parameters
    ----------
    losses : sequence of float
        ``losses[k - 1]`` is the loss of the ensemble of the last ``k`` snapshots.

    Returns
    -------
    k : int
        On ties, the larger ensemble (more members average out more noise).

    Examples
    --------
    >>> best_member_count([0.5, 0.4, 0.4, 0.45])
    3
    """
    losses = np.asarray(losses, dtype=np.float64)
    best = np.nanmin(losses)
    return int(np.flatnonzero(losses <= best)[-1]) + 1
