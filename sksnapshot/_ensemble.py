"""Combining snapshots: member or weight averaging, soft and hard voting, how many to keep.

Every prediction method of the estimators combines its members here:
:func:`combine_members` and :func:`staged_combinations` average the members' outputs or
their weights (``combine``; soft voting is the mean of the members' outputs), and
:func:`majority_vote` and :func:`staged_majority_votes` count the members' votes (hard
voting). Numpy functions of member outputs or weights (the network's forward pass is
passed in), tested without training.
"""

from typing import NamedTuple

import numpy as np

__all__ = [
    "Members",
    "average_network_weights",
    "average_weights",
    "best_member_count",
    "combine_members",
    "hard_vote",
    "majority_vote",
    "network_mean",
    "network_members",
    "staged_combinations",
    "staged_majority_votes",
    "vote_fractions",
]


class Members(NamedTuple):
    """The members of an ensemble: (snapshot, network) pairs.

    Attributes
    ----------
    snapshots : list of list of ndarray
        Weights of every snapshot, oldest first (with several networks, every array
        has a leading network axis).
    networks : ndarray of bool, shape (n_snapshots, n_networks)
        ``networks[s, n]``: whether network ``n`` of snapshot ``s`` is a member.
    """

    snapshots: list
    networks: np.ndarray

    def last(self, k):
        """The members of the last ``k`` snapshots."""
        return Members(self.snapshots[-k:], self.networks[-k:])

    @property
    def counts(self):
        """Number of members of every snapshot."""
        return self.networks.sum(axis=1)


def combine_members(outputs, members, combine):
    """The ensemble's output: the mean of the members' outputs, or of their weights.

    Parameters
    ----------
    outputs : callable
        ``outputs(snapshots, reduce=None, networks=None)``: the members' outputs
        (``(n_members, n_samples, n_outputs)``, members ordered by snapshot and then
        network), or their mean with ``reduce="mean"``; ``networks`` says which
        networks of every snapshot are members (all by default).
    members : Members
        The members' weights.
    combine : {"members", "weights"}
        ``"members"`` averages the outputs; ``"weights"`` averages every network's
        weights over its members and then the outputs of those networks.

    Returns
    -------
    output : ndarray of shape (n_samples, n_outputs)
    """
    if combine == "weights":
        if members.networks.all():
            return outputs([average_weights(members.snapshots)], reduce="mean")
        weights, networks = average_network_weights(members.snapshots, members.networks)
        return outputs([weights], reduce="mean", networks=networks[None])
    return outputs(members.snapshots, reduce="mean", networks=members.networks)


def staged_combinations(outputs, members, combine):
    """Yield the output of the ensemble of the last k snapshots, for k = 1..n_snapshots.

    As :func:`combine_members`, with every member evaluated once for ``"members"``.
    """
    n_snapshots = len(members.snapshots)
    if combine == "weights":
        for k in range(1, n_snapshots + 1):
            yield combine_members(outputs, members.last(k), combine)
        return
    flat = outputs(members.snapshots, networks=members.networks)
    bounds = np.cumsum(members.counts)
    total = np.zeros_like(flat[0])
    n = 0
    for stop, count in zip(bounds[::-1], members.counts[::-1], strict=True):
        total += flat[stop - count : stop].sum(axis=0)
        n += count
        yield total / n


def network_members(outputs, networks):
    """Members first: ``(n_snapshots, n_samples, n_networks, ...)`` outputs of a stacked
    network -> ``(n_members, n_samples, ...)``, ordered by snapshot and then network.

    Parameters
    ----------
    outputs : ndarray of shape (n_snapshots, n_samples, n_networks, ...)
    networks : ndarray of bool, shape (n_snapshots, n_networks)
        The members (see :class:`Members`).

    Returns
    -------
    members : ndarray of shape (n_members, n_samples, ...)
    """
    return np.moveaxis(outputs, 2, 1)[networks]


def network_mean(outputs, networks):
    """Mean over the members of ``(n_snapshots, n_samples, n_networks, ...)`` outputs.

    Parameters
    ----------
    outputs : ndarray of shape (n_snapshots, n_samples, n_networks, ...)
    networks : ndarray of bool, shape (n_snapshots, n_networks)
        The members: the outputs of the others (NaN for a diverged network) are
        left out.

    Returns
    -------
    mean : ndarray of float64, shape (n_samples, ...)
    """
    mask = networks.reshape(networks.shape[0], 1, networks.shape[1], *[1] * (outputs.ndim - 3))
    total = np.where(mask, outputs, 0).sum(axis=(0, 2), dtype=np.float64)
    return total / networks.sum()


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


def staged_majority_votes(member_probas, counts=None):
    """Yield :func:`majority_vote` of the members of the last k snapshots.

    ``counts`` is the number of members of every snapshot (one each by default).
    """
    counts = np.ones(len(member_probas), int) if counts is None else np.asarray(counts)
    for n in np.cumsum(counts[::-1]):
        yield majority_vote(member_probas[-n:])


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


def average_network_weights(snapshots, networks):
    """Every network's weights averaged over the snapshots where it is a member.

    Parameters
    ----------
    snapshots : list of list of ndarray
        Stacked weights (a leading network axis on every array) of every snapshot.
    networks : ndarray of bool, shape (n_snapshots, n_networks)
        The members.

    Returns
    -------
    weights : list of ndarray
        One stacked set of weights: network ``n``'s slice is the mean of its members'
        (zeros for a network without member).
    has_members : ndarray of bool, shape (n_networks,)

    Examples
    --------
    >>> import numpy as np
    >>> snapshots = [[np.array([0.0, 2.0])], [np.array([2.0, np.nan])]]
    >>> networks = np.array([[True, True], [True, False]])
    >>> average_network_weights(snapshots, networks)[0][0].tolist()
    [1.0, 2.0]
    """
    counts = networks.sum(axis=0)
    weights = []
    for layer in zip(*snapshots, strict=True):
        stacked = np.stack(layer)
        mask = networks.reshape(*networks.shape, *[1] * (stacked.ndim - 2))
        total = np.where(mask, stacked, 0).sum(axis=0, dtype=np.float64)
        scale = np.maximum(counts, 1).reshape(-1, *[1] * (stacked.ndim - 2))
        weights.append((total / scale).astype(stacked.dtype))
    return weights, counts > 0


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
