"""Combining snapshots: member or weight averaging, soft and hard voting, how many to keep.

Every prediction method of the estimators combines its members here:
:func:`combine_members` and :func:`staged_combinations` average the members' outputs or
their weights (``combine``; soft voting is the mean of the members' outputs), and
:func:`majority_vote` and :func:`staged_majority_votes` count the members' votes (hard
voting). Numpy functions of member outputs or weights (the network's forward pass is
passed in), tested without training.
"""

import numpy as np

__all__ = [
    "average_weights",
    "best_member_count",
    "combine_members",
    "hard_vote",
    "majority_vote",
    "staged_combinations",
    "staged_majority_votes",
    "vote_fractions",
]


def combine_members(outputs, snapshots, combine):
    """The ensemble's output: the mean of the members' outputs, or of their weights.

    Parameters
    ----------
    outputs : callable
        ``outputs(snapshots, reduce=None)``: the network's outputs under every snapshot
        (``(n_members, n_samples, n_outputs)``), or their mean with ``reduce="mean"``.
    snapshots : list of list of ndarray
        The members' weights.
    combine : {"members", "weights"}
        ``"members"`` averages the outputs; ``"weights"`` evaluates the network once,
        under the members' averaged weights.

    Returns
    -------
    output : ndarray of shape (n_samples, n_outputs)
    """
    if combine == "weights":
        return outputs([average_weights(snapshots)])[0]
    return outputs(snapshots, reduce="mean")


def staged_combinations(outputs, snapshots, combine):
    """Yield the output of the ensemble of the last k snapshots, for k = 1..len(snapshots).

    As :func:`combine_members`, with every member evaluated once for ``"members"``.
    """
    if combine == "weights":
        for k in range(1, len(snapshots) + 1):
            yield combine_members(outputs, snapshots[-k:], combine)
        return
    members = outputs(snapshots)
    total = np.zeros_like(members[0])
    for k, output in enumerate(members[::-1], start=1):
        total += output
        yield total / k


def majority_vote(member_probas):
    """Hard voting: the fraction of members voting for each class, and the majority.

    Parameters
    ----------
    member_probas : ndarray of shape (n_members, n_samples, n_classes)

    Returns
    -------
    fractions : ndarray of shape (n_samples, n_classes)
        See :func:`vote_fractions`.
    indices : ndarray of shape (n_samples,)
        See :func:`hard_vote`.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[[0.9, 0.1]], [[0.4, 0.6]], [[0.2, 0.8]]])
    >>> majority_vote(p)[1].tolist()
    [1]
    """
    return vote_fractions(member_probas), hard_vote(member_probas)


def staged_majority_votes(member_probas):
    """Yield :func:`majority_vote` of the last k members, for k = 1..n_members."""
    for k in range(1, len(member_probas) + 1):
        yield majority_vote(member_probas[-k:])


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
