"""scikit-learn's estimator checks, and the shape of the estimators' classes."""

import ast
from pathlib import Path

import pytest
from sklearn.base import is_classifier, is_regressor
from sklearn.utils.estimator_checks import parametrize_with_checks

import sksnapshot
from sksnapshot import SnapshotEnsembleClassifier, SnapshotEnsembleRegressor

# Every check the estimator is expected to fail, with the reason (also in the README).
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "mini-batch SGD: a weight of 2 is not the same training path as a repeated row "
        "(different batches and step counts)."
    ),
}


@parametrize_with_checks(
    [
        # One network (the plain Dense path); the classifier's default 4: below, slow.
        SnapshotEnsembleClassifier(
            hidden_layer_sizes=(16,), n_cycles=2, epochs=20, n_networks=1, random_state=0
        ),
        # check_regressor_data_not_an_array fits an unscaled target (scale ~100), on which
        # SGD with the squared error diverges: the Huber loss bounds the gradients.
        SnapshotEnsembleRegressor(
            hidden_layer_sizes=(16,), n_cycles=2, epochs=20, loss="huber", random_state=0
        ),
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# Several networks trained side by side (stacked weights, one model): the same checks,
# about two more minutes on two cores, so marked slow (the CI command runs them). The
# classifier at its default n_networks="auto" (4 networks), the regressor with 2.
@pytest.mark.slow
@parametrize_with_checks(
    [
        SnapshotEnsembleClassifier(hidden_layer_sizes=(16,), n_cycles=2, epochs=20, random_state=0),
        SnapshotEnsembleRegressor(
            hidden_layer_sizes=(16,),
            n_cycles=2,
            epochs=20,
            loss="huber",
            n_networks=2,
            random_state=0,
        ),
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator_with_several_networks(estimator, check):
    check(estimator)


def _imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_only_the_adapter_module_imports_scikeras():
    package = Path(sksnapshot.__file__).parent
    importers = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if any(m.split(".")[0] == "scikeras" for m in _imported_modules(path))
    )
    assert importers == ["_scikeras.py"]


@pytest.mark.parametrize(
    "cls, kind",
    [(SnapshotEnsembleClassifier, is_classifier), (SnapshotEnsembleRegressor, is_regressor)],
)
def test_estimators_are_scikit_learn_estimators_not_scikeras_wrappers(cls, kind):
    assert kind(cls())
    assert not any(base.__module__.startswith("scikeras") for base in cls.__mro__)
