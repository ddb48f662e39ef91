"""SnapshotEnsembleRegressor."""

import pickle

import keras
import numpy as np
import pytest
from _helpers import hand_member_outputs
from sklearn.base import is_regressor
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import make_friedman1
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sksnapshot import SnapshotEnsembleRegressor


@pytest.fixture(scope="module")
def friedman():
    X, y = make_friedman1(n_samples=300, noise=0.5, random_state=0)
    return X.astype(np.float32), y


PARAMS = dict(
    hidden_layer_sizes=(32,), n_cycles=3, epochs=30, max_learning_rate=0.02, random_state=0
)


@pytest.fixture(scope="module")
def fitted(friedman):
    X, y = friedman
    return SnapshotEnsembleRegressor(**PARAMS).fit(X, (y - y.mean()) / y.std())


def test_is_regressor_with_linear_output_and_mse():
    reg = SnapshotEnsembleRegressor()
    assert is_regressor(reg)
    rng = np.random.RandomState(0)
    X = rng.rand(40, 2).astype(np.float32)
    reg = SnapshotEnsembleRegressor(
        hidden_layer_sizes=(4,), n_cycles=2, epochs=2, random_state=0
    ).fit(X, X @ [3.0, -2.0] - 5.0)
    assert reg.model_.layers[-1].activation is keras.activations.linear
    assert keras.losses.get(reg.model_.loss) is keras.losses.mean_squared_error


def test_predict_is_the_mean_and_std_of_the_members(fitted, friedman):
    X, _ = friedman
    assert fitted.model_.loss == "mse"
    assert fitted.model_.layers[-1].get_config()["activation"] == "linear"
    members = hand_member_outputs(fitted, X)[..., 0]
    np.testing.assert_allclose(fitted.member_predict(X), members, atol=1e-5)
    mean, std = fitted.predict(X, return_std=True)
    np.testing.assert_allclose(mean, members.mean(0), atol=1e-5)
    np.testing.assert_allclose(std, members.std(0), atol=1e-5)
    np.testing.assert_allclose(fitted.predict(X), mean, atol=1e-12)
    assert mean.shape == std.shape == (len(X),)
    assert np.all(std > 0)


def test_staged_predict(fitted, friedman):
    X, _ = friedman
    members = fitted.member_predict(X)
    staged = list(fitted.staged_predict(X))
    assert len(staged) == 3
    np.testing.assert_allclose(staged[0], members[-1], atol=1e-12)
    np.testing.assert_allclose(staged[-1], fitted.predict(X), atol=1e-12)


def test_multi_output(friedman):
    X, y = friedman
    Y = np.column_stack([y, -y]) / y.std()
    reg = SnapshotEnsembleRegressor(**PARAMS).fit(X, Y)
    assert reg.model_.output_shape == (None, 2)
    assert reg.predict(X).shape == (len(X), 2)
    mean, std = reg.predict(X, return_std=True)
    assert std.shape == (len(X), 2)
    assert reg.member_predict(X).shape == (3, len(X), 2)
    assert reg.score(X, Y) > 0.5


def test_scores_well_in_a_pipeline_with_a_transformed_target(friedman):
    X, y = friedman
    model = TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), SnapshotEnsembleRegressor(**PARAMS)),
        transformer=StandardScaler(),
    )
    model.fit(X[:200], y[:200])
    assert model.score(X[200:], y[200:]) > 0.6  # R^2 on held-out rows


def test_grid_search_and_pickle(friedman):
    X, y = friedman
    y = (y - y.mean()) / y.std()
    grid = GridSearchCV(
        SnapshotEnsembleRegressor(hidden_layer_sizes=(16,), epochs=10, random_state=0),
        {"n_cycles": [2, 5]},
        cv=2,
    ).fit(X, y)
    scores = grid.cv_results_["mean_test_score"]
    assert len(scores) == 2 and np.all(np.isfinite(scores))
    assert grid.best_params_ == {"n_cycles": [2, 5][int(np.argmax(scores))]}
    best = grid.best_estimator_
    assert len(best.snapshots_) == grid.best_params_["n_cycles"]
    restored = pickle.loads(pickle.dumps(best))
    np.testing.assert_array_equal(restored.predict(X), best.predict(X))


def test_n_members_auto_and_weights(friedman):
    X, y = friedman
    y = (y - y.mean()) / y.std()
    reg = SnapshotEnsembleRegressor(**PARAMS, n_members="auto").fit(X, y)
    # The held-out losses and the choice are checked by hand in test_n_members_auto.py.
    assert reg.holdout_losses_.shape == (3,)
    np.testing.assert_allclose(
        reg.predict(X), reg.member_predict(X)[-reg.n_members_ :].mean(0), atol=1e-12
    )
    reg.set_params(combine="weights", n_members=None)
    averaged = [np.mean(layer, axis=0) for layer in zip(*reg.snapshots_, strict=True)]
    np.testing.assert_allclose(
        reg.predict(X), hand_member_outputs(reg, X, [averaged])[0, :, 0], atol=1e-5
    )


def test_bad_targets(friedman):
    X, y = friedman
    y = y.copy()
    y[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SnapshotEnsembleRegressor(**PARAMS).fit(X, y)
