"""The problems the experiments run on: the reference blobs and the comparison datasets."""

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_blobs,
    make_classification,
    make_friedman1,
    make_moons,
)
from sklearn.model_selection import train_test_split

from ._bayes import bayes_accuracy

__all__ = [
    "COMPARE_DATASETS",
    "REFERENCE_PARAMS",
    "ReferenceProblem",
    "dataset_task",
    "friedman1_mean",
    "load_dataset",
    "reference_problem",
    "task_datasets",
]

#: Estimator parameters of the reference experiment (the snapshot-ensemble tutorial):
#: Dense(50, relu), SGD with momentum 0.9, batch 32, 500 epochs in 10 cycles of 50,
#: cosine decay from peak rate 0.01 to 0, the rate set once per epoch; one network, every
#: snapshot predicting, their probabilities averaged, the plain cross-entropy. Every
#: setting the tutorial fixes is written here, not left to the classifier's defaults, so
#: that a change of those defaults does not move the experiment.
REFERENCE_PARAMS = {
    "hidden_layer_sizes": (50,),
    "n_cycles": 10,
    "epochs": 500,
    "max_learning_rate": 0.01,
    "lr_update": "epoch",
    "batch_size": 32,
    "n_networks": 1,
    "n_members": None,
    "label_smoothing": 0.0,
    "activation": "relu",
    "optimizer": "sgd",
    "momentum": 0.9,
    "schedule": "cosine",
    "min_learning_rate": 0.0,
    "combine": "members",
    "voting": "soft",
}

_BLOBS = {"n_samples": 1100, "centers": 3, "n_features": 2, "cluster_std": 2.0, "random_state": 2}


@dataclass(frozen=True)
class ReferenceProblem:
    """The reference blobs problem: data, generating centers and its Bayes limit.

    Made by :func:`reference_problem`; the fields are also its attributes.

    Parameters
    ----------
    X_train, y_train : ndarray
        The first 100 rows, for training.
    X_test, y_test : ndarray
        The other 1000 rows, for testing.
    centers : ndarray of shape (3, 2)
        The generating centers.
    cluster_std : float
        The common standard deviation of the clusters (2.0).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    centers: np.ndarray
    cluster_std: float

    def bayes_accuracy(self):
        """Accuracy of the Bayes classifier (nearest center) on the 1000 test rows.

        Returns
        -------
        accuracy : float
            Fraction of the test rows the Bayes classifier labels correctly.
        """
        return bayes_accuracy(self.X_test, self.y_test, self.centers, self.cluster_std)

    def bayes_population_accuracy(self, n_samples=1_000_000, random_state=0):
        """Monte-Carlo estimate of the Bayes classifier's accuracy on the population.

        Draws ``n_samples`` fresh points from the same three Gaussians (equal priors).
        The standard error is below 0.0004 at the default size.

        Parameters
        ----------
        n_samples : int, default=1_000_000
            Number of points drawn.
        random_state : int, numpy.random.Generator or None, default=0
            Seed of the draw (passed to ``numpy.random.default_rng``).

        Returns
        -------
        accuracy : float
            Fraction of the drawn points the Bayes classifier labels correctly.
        """
        rng = np.random.default_rng(random_state)
        y = rng.integers(len(self.centers), size=n_samples)
        X = self.centers[y] + self.cluster_std * rng.standard_normal((n_samples, 2))
        return bayes_accuracy(X, y, self.centers, self.cluster_std)


def reference_problem():
    """The reference blobs problem of the snapshot-ensemble tutorial.

    ``make_blobs(n_samples=1100, centers=3, n_features=2, cluster_std=2,
    random_state=2)``: the first 100 rows train, the other 1000 test.

    Returns
    -------
    problem : ReferenceProblem

    Examples
    --------
    >>> from sksnapshot.experiments import reference_problem
    >>> problem = reference_problem()
    >>> problem.X_train.shape, problem.X_test.shape
    ((100, 2), (1000, 2))
    >>> problem.bayes_accuracy()
    0.837
    """
    X, y, centers = make_blobs(**_BLOBS, return_centers=True)
    return ReferenceProblem(X[:100], y[:100], X[100:], y[100:], centers, _BLOBS["cluster_std"])


def _blobs():
    X, y = make_blobs(**_BLOBS)
    return X, y


def _digits():
    return load_digits(return_X_y=True)


def _digits_10pct():
    X, y = load_digits(return_X_y=True)
    X, _, y, _ = train_test_split(X, y, train_size=0.1, stratify=y, random_state=0)
    return X, y


def _moons_noisy():
    return make_moons(n_samples=200, noise=0.3, random_state=0)


def _label_noise():
    return make_classification(
        n_samples=500,
        n_features=20,
        n_informative=6,
        n_redundant=4,
        flip_y=0.1,
        random_state=0,
    )


#: ``make_friedman1`` settings of the ``friedman1`` dataset (see ``COMPARE_DATASETS``).
_FRIEDMAN1 = {"n_samples": 500, "n_features": 10, "noise": 1.0, "random_state": 0}


def friedman1_mean(X):
    """The noiseless Friedman #1 function: ``E[y | X]`` of ``make_friedman1`` data.

    ``10 sin(pi x0 x1) + 20 (x2 - 0.5)^2 + 10 x3 + 5 x4``; the other features do not
    count. Predicting it is the best any regressor can do (the Bayes-optimal
    prediction under squared error); its error on ``make_friedman1`` rows is the noise.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        At least 5 features.

    Returns
    -------
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_friedman1
    >>> from sksnapshot.experiments import friedman1_mean
    >>> X, y = make_friedman1(n_samples=5, noise=0.0, random_state=0)
    >>> bool(np.allclose(friedman1_mean(X), y))
    True
    """
    X = np.asarray(X, dtype=np.float64)
    return (
        10 * np.sin(np.pi * X[:, 0] * X[:, 1])
        + 20 * (X[:, 2] - 0.5) ** 2
        + 10 * X[:, 3]
        + 5 * X[:, 4]
    )


def _friedman1():
    return make_friedman1(**_FRIEDMAN1)


@dataclass(frozen=True)
class _Dataset:
    loader: object
    description: str
    task: str = "classification"
    #: ``E[y | X]`` when it is known (regression): the Bayes-optimal prediction.
    bayes_prediction: object = None


#: The datasets of ``sksnapshot compare``, by name, in the order they are reported;
#: ``COMPARE_DATASETS[name].task`` is ``"classification"`` or ``"regression"``.
COMPARE_DATASETS = {
    "blobs": _Dataset(
        _blobs, "the reference blobs, all 1100 rows (3 classes, 2 features, Bayes 0.823)"
    ),
    "digits": _Dataset(_digits, "sklearn digits (1797 rows, 64 features, 10 classes)"),
    "breast_cancer": _Dataset(
        lambda: load_breast_cancer(return_X_y=True),
        "sklearn breast cancer (569 rows, 30 features, binary)",
    ),
    "wine": _Dataset(
        lambda: load_wine(return_X_y=True), "sklearn wine (178 rows, 13 features, 3 classes)"
    ),
    "moons_noisy": _Dataset(
        _moons_noisy, "make_moons, 200 rows, noise 0.3: few rows, overlapping classes"
    ),
    "label_noise": _Dataset(
        _label_noise,
        "make_classification, 500 rows, 20 features (6 informative, 4 redundant), "
        "10 % of labels flipped",
    ),
    "digits_10pct": _Dataset(
        _digits_10pct, "a stratified 10 % of digits (179 rows, about 18 per class)"
    ),
    "diabetes": _Dataset(
        lambda: load_diabetes(return_X_y=True),
        "sklearn diabetes (442 rows, 10 features; a noisy, nearly linear target)",
        task="regression",
    ),
    "friedman1": _Dataset(
        _friedman1,
        "make_friedman1, 500 rows, 10 features (5 irrelevant), noise 1.0: a smooth "
        "non-linear target",
        task="regression",
        bayes_prediction=friedman1_mean,
    ),
}


def task_datasets(task):
    """Names of the comparison datasets of one task, in report order.

    Parameters
    ----------
    task : {"classification", "regression"}

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from sksnapshot.experiments import task_datasets
    >>> task_datasets("regression")
    ['diabetes', 'friedman1']
    """
    names = [name for name, dataset in COMPARE_DATASETS.items() if dataset.task == task]
    if not names:
        raise ValueError(f"Unknown task {task!r}; choose 'classification' or 'regression'.")
    return names


def dataset_task(name):
    """``"classification"`` or ``"regression"``: the task of the comparison dataset ``name``.

    Parameters
    ----------
    name : str
        Name of a comparison dataset (a key of ``COMPARE_DATASETS``).

    Returns
    -------
    task : str
        ``"classification"`` or ``"regression"``.

    Raises
    ------
    ValueError
        If ``name`` is not a comparison dataset.
    """
    return _lookup(name).task


def _lookup(name):
    try:
        return COMPARE_DATASETS[name]
    except KeyError:
        raise ValueError(
            f"Unknown dataset {name!r}; choose from {', '.join(COMPARE_DATASETS)}."
        ) from None


def load_dataset(name):
    """``(X, y)`` of one of the comparison datasets.

    Parameters
    ----------
    name : str
        One of ``COMPARE_DATASETS``: for classification ``"blobs"``, ``"digits"``,
        ``"breast_cancer"``, ``"wine"``, ``"moons_noisy"``, ``"label_noise"``,
        ``"digits_10pct"``; for regression ``"diabetes"``, ``"friedman1"``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> from sksnapshot.experiments import load_dataset
    >>> X, y = load_dataset("moons_noisy")
    >>> X.shape
    (200, 2)
    """
    X, y = _lookup(name).loader()
    return np.asarray(X, dtype=np.float64), np.asarray(y)
