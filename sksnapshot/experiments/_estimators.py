"""The estimators ``sksnapshot compare`` puts side by side, for classification and regression."""

from sklearn.base import clone, is_classifier
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from .. import SnapshotEnsembleClassifier, SnapshotEnsembleRegressor

__all__ = [
    "COMPARE_ESTIMATORS",
    "DEFAULT_ESTIMATORS",
    "SNAPSHOT_ESTIMATORS",
    "SNAPSHOT_NETWORKS",
    "compare_estimators",
    "estimator_label",
    "independent_ensemble",
    "single_network",
]

#: Networks trained side by side by the ``snapshot_networks`` variant (asked for by
#: name; in the regression default set only, see ``DEFAULT_ESTIMATORS``).
SNAPSHOT_NETWORKS = 4

_SNAPSHOT_LABELS = {
    "snapshot": "snapshot ensemble",
    "snapshot_weights": "snapshot ensemble, weight-averaged",
    "snapshot_auto": "snapshot ensemble, n_members='auto'",
    "snapshot_one_network": "snapshot ensemble, 1 network",
    "snapshot_networks": f"snapshot ensemble of {SNAPSHOT_NETWORKS} networks",
    "single": "single network, same budget",
    "true_ensemble": "true ensemble of M networks",
}

#: Names of the compared estimators and how tables label them, per task.
COMPARE_ESTIMATORS = {
    "classification": {
        **_SNAPSHOT_LABELS,
        "mlp": "MLPClassifier",
        "logreg": "LogisticRegression",
        "random_forest": "RandomForestClassifier",
        "hist_gb": "HistGradientBoostingClassifier",
    },
    "regression": {
        **_SNAPSHOT_LABELS,
        "mlp": "MLPRegressor",
        "ridge": "Ridge",
        "random_forest": "RandomForestRegressor",
        "hist_gb": "HistGradientBoostingRegressor",
    },
}

#: The estimators a comparison runs when none are named, per task. The snapshot
#: variants (``snapshot_weights``, ``snapshot_auto``) cost a training run each; the
#: classification default leaves them out (its seven datasets and true ensembles already
#: take about 20 minutes on two cores), the regression default (no true ensemble) has them.
#: Each has one variant with another number of networks than its estimator's default
#: (issue 14: several for the classifier, one for the regressor), so that the run shows
#: what the networks trained side by side add: classification ``snapshot_one_network``
#: (``n_networks=1``: one network, the snapshot ensemble of sksnapshot 0.1.0),
#: regression ``snapshot_networks`` (``n_networks=4``, the cheap rival of the true
#: ensemble). Either can be named for either task.
DEFAULT_ESTIMATORS = {
    "classification": [
        "snapshot", "snapshot_one_network", "single", "true_ensemble", "mlp", "logreg",
        "random_forest", "hist_gb",
    ],
    "regression": [
        "snapshot", "snapshot_weights", "snapshot_auto", "snapshot_networks", "single", "mlp",
        "ridge", "hist_gb",
    ],
}  # fmt: skip

#: The snapshot ensembles: their folds also get every snapshot's and every last-k score.
SNAPSHOT_ESTIMATORS = (
    "snapshot",
    "snapshot_weights",
    "snapshot_auto",
    "snapshot_one_network",
    "snapshot_networks",
)


def estimator_label(name, n_members=None, task="classification"):
    """How tables and figures name an estimator (``M`` replaced by ``n_members``).

    Parameters
    ----------
    name : str
        Name of the estimator in the comparison (a key of ``COMPARE_ESTIMATORS[task]``).
    n_members : int or None, default=None
        Number of members written in place of ``M``; None keeps ``M``.
    task : {"classification", "regression"}, default="classification"
        The task of the comparison.

    Returns
    -------
    label : str
        The estimator's name in tables and figures.
    """
    label = COMPARE_ESTIMATORS[task][name]
    return label.replace(" M ", f" {n_members} ") if n_members is not None else label


#: What makes a snapshot ensemble its same-budget single network: one cycle, one
#: network, its only snapshot predicting.
_SINGLE_NETWORK = {"n_cycles": 1, "n_networks": 1, "n_members": None}


def single_network(estimator):
    """The same-budget single network of a snapshot ensemble: the baseline of the experiments.

    A clone of ``estimator`` with ``n_cycles=1``, ``n_networks=1`` and ``n_members=None``:
    one network trained with one cosine decay over the same epochs, its only snapshot
    predicting; every other parameter (network, optimizer, epochs, peak rate, batch
    size, ``label_smoothing``, ``random_state``...) stays as it was. It is the "single
    network, same budget" of ``sksnapshot reference`` and ``sksnapshot compare``, and the
    member of their true ensembles (:func:`independent_ensemble`), whatever the snapshot
    ensemble's number of networks and of kept snapshots.

    Parameters
    ----------
    estimator : SnapshotEnsembleClassifier or SnapshotEnsembleRegressor
        The snapshot ensemble (fitted or not), or a ``Pipeline`` ending in one, or a
        ``TransformedTargetRegressor`` around either: the parameters are set on the
        snapshot ensemble inside.

    Returns
    -------
    single : estimator
        An unfitted clone of ``estimator``.

    Examples
    --------
    >>> from sksnapshot import SnapshotEnsembleClassifier
    >>> from sksnapshot.experiments import single_network
    >>> snapshot = SnapshotEnsembleClassifier(n_networks=4, n_members=0.3, n_cycles=10,
    ...                                       label_smoothing=0.1, random_state=0)
    >>> single = single_network(snapshot)
    >>> single.n_cycles, single.n_networks, single.n_members, single.label_smoothing
    (1, 1, None, 0.1)
    """
    single = clone(estimator)
    prefix, inner = "", single
    while isinstance(inner, (Pipeline, TransformedTargetRegressor)):
        if isinstance(inner, Pipeline):
            prefix, inner = f"{prefix}{inner.steps[-1][0]}__", inner.steps[-1][1]
        else:
            prefix, inner = f"{prefix}regressor__", inner.regressor
    return single.set_params(**{prefix + key: value for key, value in _SINGLE_NETWORK.items()})


def independent_ensemble(estimator, n_estimators, random_state=0):
    """Averaging ensemble of ``n_estimators`` copies of ``estimator``, seeded differently.

    Every member is a clone of ``estimator`` with ``random_state=random_state + i``, fit
    on all the training rows: M independently initialised and trained networks, the
    "true ensemble" of Huang et al. (2017), at M times the cost of one. For a classifier
    it is a :class:`sklearn.ensemble.VotingClassifier` with ``voting="soft"``
    (``predict_proba`` is the mean of the members' probabilities), for a regressor a
    :class:`sklearn.ensemble.VotingRegressor` (``predict`` is the mean of the members'
    predictions), as for a snapshot ensemble; either clones, pickles and
    cross-validates like any scikit-learn estimator.

    Parameters
    ----------
    estimator : classifier with ``predict_proba``, or regressor; with ``random_state``
        The member, e.g. ``single_network(SnapshotEnsembleClassifier())``: one network,
        one cycle (see :func:`single_network`).
    n_estimators : int
        Number M of members.
    random_state : int, default=0
        Seed of the first member; member ``i`` gets ``random_state + i``.

    Returns
    -------
    ensemble : VotingClassifier or VotingRegressor

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
    if is_classifier(estimator):
        return VotingClassifier(members, voting="soft")
    return VotingRegressor(members)


def _scaled_target(regressor):
    """``regressor`` behind a ``StandardScaler`` on X, with standardized targets."""
    return TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), regressor), transformer=StandardScaler()
    )


def compare_estimators(
    names=None, *, task="classification", snapshot_params=None, random_state=0, quick=False
):
    """The compared estimators, each a fresh, unfitted scikit-learn estimator.

    Neural networks and linear models get a ``StandardScaler`` in front of them (inside
    a ``Pipeline``, so that the scaling is learnt on the training folds only); the tree
    ensembles do not need one. For regression, the networks also learn standardized
    targets (a ``TransformedTargetRegressor`` with a ``StandardScaler``): SGD at a fixed
    learning rate needs targets of unit scale, and predictions come back in the
    original units.

    Parameters
    ----------
    names : list of str, default=None
        Keys of ``COMPARE_ESTIMATORS[task]``; ``None`` means ``DEFAULT_ESTIMATORS[task]``,
        in that order.
    task : {"classification", "regression"}, default="classification"
        Which estimators: ``SnapshotEnsembleClassifier`` and classifiers, or
        ``SnapshotEnsembleRegressor`` and regressors.
    snapshot_params : dict, default=None
        Parameters of the snapshot ensemble (``n_cycles``, ``epochs``, ...). The variants
        take the same ones with ``combine="weights"`` (``snapshot_weights``: the
        snapshots' weights averaged into one network), ``n_members="auto"``
        (``snapshot_auto``: the number of last snapshots chosen on held-out training
        rows), ``n_networks=1`` (``snapshot_one_network``: one network, whatever the
        snapshot ensemble's) or ``n_networks=4`` (``snapshot_networks``, see
        ``SNAPSHOT_NETWORKS``: four networks trained side by side); the single network
        and the members of the true ensemble take them with ``n_cycles=1``,
        ``n_networks=1`` and ``n_members=None`` (:func:`single_network`): one network,
        one cosine decay over the whole budget. The true ensemble has as
        many members as the snapshot ensemble has cycles.
    random_state : int, default=0
        Seed of every estimator.
    quick : bool, default=False
        Fewer iterations for ``MLPClassifier``/``MLPRegressor``, smaller forests and
        boosting (for tests).

    Returns
    -------
    estimators : dict of str to estimator

    Examples
    --------
    >>> from sksnapshot.experiments import compare_estimators
    >>> models = compare_estimators(["snapshot", "single", "ridge"], task="regression")
    >>> models["single"].regressor[-1].n_cycles
    1
    """
    if task not in COMPARE_ESTIMATORS:
        raise ValueError(f"Unknown task {task!r}; choose 'classification' or 'regression'.")
    available = COMPARE_ESTIMATORS[task]
    names = list(DEFAULT_ESTIMATORS[task]) if names is None else list(names)
    unknown = [name for name in names if name not in available]
    if unknown:
        raise ValueError(
            f"Unknown estimator(s) {unknown} for {task}; choose from {', '.join(available)}."
        )
    classification = task == "classification"
    network_class = SnapshotEnsembleClassifier if classification else SnapshotEnsembleRegressor
    snapshot = network_class(**(snapshot_params or {}), random_state=random_state)
    single = single_network(snapshot)
    wrap = (lambda est: make_pipeline(StandardScaler(), est)) if classification else _scaled_target
    n_trees = 20 if quick else 100
    max_iter = 50 if quick else 200
    builders = {
        "snapshot": lambda: wrap(snapshot),
        "snapshot_weights": lambda: wrap(clone(snapshot).set_params(combine="weights")),
        "snapshot_auto": lambda: wrap(clone(snapshot).set_params(n_members="auto")),
        "snapshot_one_network": lambda: wrap(clone(snapshot).set_params(n_networks=1)),
        "snapshot_networks": lambda: wrap(clone(snapshot).set_params(n_networks=SNAPSHOT_NETWORKS)),
        "single": lambda: wrap(single),
        "true_ensemble": lambda: wrap(
            independent_ensemble(single, snapshot.n_cycles, random_state)
        ),
    }
    mlp_params = {
        "hidden_layer_sizes": snapshot.hidden_layer_sizes,
        "max_iter": max_iter,
        "random_state": random_state,
    }
    if classification:
        builders |= {
            "mlp": lambda: wrap(MLPClassifier(**mlp_params)),
            "logreg": lambda: wrap(LogisticRegression(max_iter=1000)),
            "random_forest": lambda: RandomForestClassifier(
                n_estimators=n_trees, random_state=random_state
            ),
            "hist_gb": lambda: HistGradientBoostingClassifier(
                max_iter=n_trees, random_state=random_state
            ),
        }
    else:
        builders |= {
            "mlp": lambda: wrap(MLPRegressor(**mlp_params)),
            "ridge": lambda: make_pipeline(StandardScaler(), Ridge()),
            "random_forest": lambda: RandomForestRegressor(
                n_estimators=n_trees, random_state=random_state
            ),
            "hist_gb": lambda: HistGradientBoostingRegressor(
                max_iter=n_trees, random_state=random_state
            ),
        }
    return {name: builders[name]() for name in names}
