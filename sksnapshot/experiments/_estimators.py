"""The estimators ``sksnapshot compare`` puts side by side."""

from sklearn.base import clone
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    VotingClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .._classifier import SnapshotEnsembleClassifier

__all__ = ["COMPARE_ESTIMATORS", "compare_estimators", "estimator_label", "independent_ensemble"]

#: Names of the compared estimators and how tables label them.
COMPARE_ESTIMATORS = {
    "snapshot": "snapshot ensemble",
    "single": "single network, same budget",
    "true_ensemble": "true ensemble of M networks",
    "mlp": "MLPClassifier",
    "logreg": "LogisticRegression",
    "random_forest": "RandomForestClassifier",
    "hist_gb": "HistGradientBoostingClassifier",
}


def estimator_label(name, n_members=None):
    """How tables and figures name an estimator (``M`` replaced by ``n_members``)."""
    label = COMPARE_ESTIMATORS[name]
    return label.replace(" M ", f" {n_members} ") if n_members is not None else label


def independent_ensemble(estimator, n_estimators, random_state=0):
    """Soft-voting ensemble of ``n_estimators`` copies of ``estimator``, seeded differently.

    Every member is a clone of ``estimator`` with ``random_state=random_state + i``, fit
    on all the training rows: M independently initialised and trained networks, the
    "true ensemble" of Huang et al. (2017), at M times the cost of one. It is a
    :class:`sklearn.ensemble.VotingClassifier` with ``voting="soft"``, so it clones,
    pickles and cross-validates like any scikit-learn estimator and ``predict_proba``
    is the mean of the members' probabilities, as for a snapshot ensemble.

    Parameters
    ----------
    estimator : classifier with ``random_state`` and ``predict_proba``
        The member, e.g. ``SnapshotEnsembleClassifier(n_cycles=1)``.
    n_estimators : int
        Number M of members.
    random_state : int, default=0
        Seed of the first member; member ``i`` gets ``random_state + i``.

    Returns
    -------
    ensemble : VotingClassifier

    Examples
    --------
    >>> from sklearn.linear_model import SGDClassifier
    >>> from sksnapshot.experiments import independent_ensemble
    >>> ensemble = independent_ensemble(SGDClassifier(loss="log_loss"), 3)
    >>> [est.random_state for _, est in ensemble.estimators]
    [0, 1, 2]
    """
    if int(n_estimators) < 1:
        raise ValueError(f"n_estimators must be at least 1, got {n_estimators}.")
    members = [
        (f"member_{i}", clone(estimator).set_params(random_state=random_state + i))
        for i in range(int(n_estimators))
    ]
    return VotingClassifier(members, voting="soft")


def compare_estimators(names=None, *, snapshot_params=None, random_state=0, quick=False):
    """The compared estimators, each a fresh, unfitted scikit-learn estimator.

    Neural networks and logistic regression get a ``StandardScaler`` in front of them
    (inside a ``Pipeline``, so that the scaling is learnt on the training folds only);
    the tree ensembles do not need one.

    Parameters
    ----------
    names : list of str, default=None
        Keys of ``COMPARE_ESTIMATORS``; ``None`` means all, in that order.
    snapshot_params : dict, default=None
        Parameters of the snapshot ensemble (``n_cycles``, ``epochs``, ...); the single
        network and the members of the true ensemble take the same ones with
        ``n_cycles=1``: one cosine decay over the whole budget. The true ensemble has as
        many members as the snapshot ensemble has cycles.
    random_state : int, default=0
        Seed of every estimator.
    quick : bool, default=False
        Smaller forests and boosting (for tests).

    Returns
    -------
    estimators : dict of str to estimator
    """
    names = list(COMPARE_ESTIMATORS) if names is None else list(names)
    unknown = [name for name in names if name not in COMPARE_ESTIMATORS]
    if unknown:
        raise ValueError(
            f"Unknown estimator(s) {unknown}; choose from {', '.join(COMPARE_ESTIMATORS)}."
        )
    snapshot = SnapshotEnsembleClassifier(**(snapshot_params or {}), random_state=random_state)
    single = clone(snapshot).set_params(n_cycles=1)
    builders = {
        "snapshot": lambda: make_pipeline(StandardScaler(), snapshot),
        "single": lambda: make_pipeline(StandardScaler(), single),
        "true_ensemble": lambda: make_pipeline(
            StandardScaler(), independent_ensemble(single, snapshot.n_cycles, random_state)
        ),
        "mlp": lambda: make_pipeline(
            StandardScaler(),
            MLPClassifier(
                hidden_layer_sizes=snapshot.hidden_layer_sizes,
                max_iter=50 if quick else 200,
                random_state=random_state,
            ),
        ),
        "logreg": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        "random_forest": lambda: RandomForestClassifier(
            n_estimators=20 if quick else 100, random_state=random_state
        ),
        "hist_gb": lambda: HistGradientBoostingClassifier(
            max_iter=20 if quick else 100, random_state=random_state
        ),
    }
    return {name: builders[name]() for name in names}
