"""``sksnapshot compare`` for regression, and the snapshot variants of both tasks."""

import csv
import json

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import make_friedman1
from sklearn.ensemble import VotingRegressor
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import RepeatedKFold
from sklearn.tree import DecisionTreeRegressor

from sksnapshot import SnapshotEnsembleRegressor
from sksnapshot.cli import main
from sksnapshot.experiments import (
    TASKS,
    CompareResult,
    compare_estimators,
    friedman1_mean,
    independent_ensemble,
    load_dataset,
    regression_snapshot_scores,
    run_compare,
    save_compare,
    task_datasets,
)
from sksnapshot.experiments._compare import _cross_validate, _fill_failed_networks

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000, path


# -- datasets and estimators ----------------------------------------------------------
def test_regression_datasets_and_the_friedman1_mean():
    assert task_datasets("regression") == ["diabetes", "friedman1"]
    assert "diabetes" not in task_datasets("classification")
    X, y = load_dataset("friedman1")
    # make_friedman1 draws X before the noise: the noiseless draw has the same rows.
    X0, y0 = make_friedman1(n_samples=500, n_features=10, noise=0.0, random_state=0)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_allclose(friedman1_mean(X), y0, atol=1e-12)
    assert np.std(y - y0) == pytest.approx(1.0, abs=0.1)  # noise 1.0
    with pytest.raises(ValueError, match="Unknown task"):
        task_datasets("ranking")


def test_regression_estimators_scale_inputs_and_targets_of_networks():
    params = dict(hidden_layer_sizes=(7,), n_cycles=4, epochs=12)
    models = compare_estimators(task="regression", snapshot_params=params, random_state=3)
    assert list(models) == [
        "snapshot", "snapshot_weights", "snapshot_auto", "snapshot_networks", "single", "mlp",
        "ridge", "hist_gb",
    ]  # fmt: skip
    assert models["snapshot_networks"].regressor[-1].n_networks == 4
    networks = ("snapshot", "snapshot_weights", "snapshot_auto", "snapshot_networks", "single")
    for name in (*networks, "mlp"):
        model = models[name]
        assert isinstance(model, TransformedTargetRegressor), name
        assert type(model.transformer).__name__ == "StandardScaler"
        assert type(model.regressor[0]).__name__ == "StandardScaler"
    snapshot = models["snapshot"].regressor[-1]
    assert isinstance(snapshot, SnapshotEnsembleRegressor) and snapshot.n_cycles == 4
    assert snapshot.combine == "members" and snapshot.n_members is None
    assert models["snapshot_weights"].regressor[-1].combine == "weights"
    assert models["snapshot_auto"].regressor[-1].n_members == "auto"
    single = models["single"].regressor[-1]
    assert single.n_cycles == 1 and single.epochs == 12 and single.random_state == 3
    assert models["mlp"].regressor[-1].hidden_layer_sizes == (7,)
    assert not isinstance(models["ridge"], TransformedTargetRegressor)
    true = compare_estimators(["true_ensemble"], task="regression", snapshot_params=params)
    members = true["true_ensemble"].regressor[-1]
    assert isinstance(members, VotingRegressor) and len(members.estimators) == 4
    with pytest.raises(ValueError, match="Unknown estimator.*for regression"):
        compare_estimators(["logreg"], task="regression")
    with pytest.raises(ValueError, match="Unknown task"):
        compare_estimators(task="ranking")


def test_classification_variants():
    models = compare_estimators(["snapshot_weights", "snapshot_auto"], task="classification")
    assert models["snapshot_weights"][-1].combine == "weights"
    assert models["snapshot_auto"][-1].n_members == "auto"


def test_independent_ensemble_of_regressors_averages_them():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = X[:, 0] + rng.normal(size=60)
    ensemble = clone(independent_ensemble(DecisionTreeRegressor(max_features=1), 3, 5)).fit(X, y)
    X_new = rng.normal(size=(10, 4))  # fully grown trees interpolate their training rows
    members = [tree.predict(X_new) for tree in ensemble.estimators_]
    assert [tree.random_state for tree in ensemble.estimators_] == [5, 6, 7]
    np.testing.assert_allclose(ensemble.predict(X_new), np.mean(members, axis=0))
    assert not np.allclose(members[0], members[1])


# -- per-snapshot scores in the target's units ----------------------------------------
def test_regression_snapshot_scores_are_in_the_target_units():
    X, y = load_dataset("diabetes")
    params = dict(hidden_layer_sizes=(8,), n_cycles=3, epochs=6)
    model = compare_estimators(["snapshot"], task="regression", snapshot_params=params)
    model = model["snapshot"].fit(X[:300], y[:300])
    X_test, y_test = X[300:], y[300:]
    scores = regression_snapshot_scores(model, X_test, y_test)
    # By hand: the network's members on scaled inputs, brought back by the target scaler.
    network, target = model.regressor_[-1], model.transformer_
    scaled = network.member_predict(model.regressor_[0].transform(X_test))
    members = scaled * target.scale_[0] + target.mean_[0]
    rmse = np.sqrt(np.mean((members - y_test) ** 2, axis=1))
    np.testing.assert_allclose(scores["member_rmse"], rmse, rtol=1e-5)
    assert scores["member_std"] == pytest.approx(np.std(members, axis=0).mean(), rel=1e-4)
    assert scores["member_std"] > 1.0  # target units (diabetes: tens), not unit scale
    # The ensemble of all the last k = M is the model's prediction.
    full = root_mean_squared_error(y_test, model.predict(X_test))
    assert scores["ensemble_rmse"][-1] == pytest.approx(full, rel=1e-5)
    assert scores["ensemble_rmse"][0] == pytest.approx(rmse[-1], rel=1e-5)
    # A bare regressor: no transform.
    bare = regression_snapshot_scores(network, model.regressor_[0].transform(X_test), y_test)
    assert bare["member_std"] == pytest.approx(np.std(scaled, axis=0).mean(), rel=1e-4)


# -- paired gains on a constructed result ---------------------------------------------
def _constructed(task):
    """Three folds of one dataset with scores chosen by hand (higher-better, lower-better).

    Every lower-is-better metric of the task (classification: log loss, Brier and ECE)
    gets the same scores.
    """
    spec = TASKS[task]
    dataset = task_datasets(task)[0]
    better, *lower = (m.key for m in spec.metrics)
    worse = lower[0]
    scores = {
        "snapshot": ([0.5, 0.4, 0.6], [50.0, 55.0, 45.0]),
        "snapshot_weights": ([0.48, 0.41, 0.6], [51.0, 54.0, 45.0]),
        "single": ([0.3, 0.4, 0.7], [60.0, 55.0, 40.0]),
    }
    finals = ([0.45, 0.4, 0.62], [52.0, 55.0, 44.0])
    folds = []
    for name, (high, low) in scores.items():
        for fold in range(3):
            row = {
                "dataset": dataset,
                "estimator": name,
                "fold": fold,
                better: high[fold],
                **dict.fromkeys(lower, low[fold]),
                "fit_time": 1.0,
                "predict_time": 0.1,
            }
            if name != "single":
                n = 2 if fold == 2 else 3  # the last fold stopped after 2 cycles
                row |= {
                    f"final_snapshot_{better}": finals[0][fold],
                    **{f"final_snapshot_{key}": finals[1][fold] for key in lower},
                    spec.spread_key: 0.1 * (fold + 1),
                    "n_snapshots": n,
                    "n_members": n,
                    f"last_k_{better}": [finals[0][fold], 0.0, high[fold]][:n],
                    **{f"last_k_{key}": [finals[1][fold], 0.0, low[fold]][:n] for key in lower},
                }
            folds.append(row)
    settings = {
        "task": task,
        "n_splits": 3,
        "n_repeats": 1,
        "snapshot_params": {"n_cycles": 3},
    }
    return CompareResult(settings, folds, wall_time=1.0), better, worse


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_gains_on_a_constructed_result(task):
    result, better, worse = _constructed(task)
    gains = {(g["of"], g["over"]): g for g in result.gains()}
    assert list(gains) == [
        ("snapshot", "snapshot_weights"),
        ("snapshot", "single"),
        ("snapshot", "final_snapshot"),
        ("snapshot_weights", "single"),
        ("snapshot_weights", "final_snapshot"),
    ]
    # snapshot - single: +0.2, 0, -0.1 (higher is better); -10, 0, +5 (lower is better)
    high = gains["snapshot", "single"][better]
    assert high["mean"] == pytest.approx(0.1 / 3)
    assert (high["won"], high["tied"], high["lost"]) == (1, 1, 1)
    low = gains["snapshot", "single"][worse]
    assert low["mean"] == pytest.approx(-5 / 3)
    assert low["std"] == pytest.approx(np.std([-10, 0, 5], ddof=1))
    assert (low["won"], low["tied"], low["lost"]) == (1, 1, 1)
    # snapshot_weights - single: +0.18, +0.01, -0.1; -9, -1, +5
    high = gains["snapshot_weights", "single"][better]
    assert high["mean"] == pytest.approx(0.09 / 3)
    assert (high["won"], high["tied"], high["lost"]) == (2, 0, 1)
    low = gains["snapshot_weights", "single"][worse]
    assert (low["won"], low["tied"], low["lost"]) == (2, 0, 1)
    # over its own final snapshot: 0.48-0.45, 0.41-0.40, 0.60-0.62; 51-52, 54-55, 45-44
    high = gains["snapshot_weights", "final_snapshot"][better]
    assert high["mean"] == pytest.approx((0.03 + 0.01 - 0.02) / 3)
    assert (high["won"], high["tied"], high["lost"]) == (2, 0, 1)
    low = gains["snapshot_weights", "final_snapshot"][worse]
    assert (low["won"], low["tied"], low["lost"]) == (2, 0, 1)
    # The other lower-is-better metrics (Brier, ECE) have the same scores, so the same gains.
    for pair, gain in gains.items():
        for key in (m.key for m in result.metrics if not m.higher_is_better):
            assert gain[key] == gain[worse], (pair, key)
    # The table says where training stopped early; a fold counts for the k it reached.
    table = result.format_table()
    assert "training stopped early" in table and "in 1 of 3 folds" in table
    last_k = result.last_k(result.datasets[0])[better]
    np.testing.assert_allclose(last_k, [np.mean([0.45, 0.4, 0.62]), 0.0, np.mean([0.5, 0.4])])
    summary = {row["estimator"]: row for row in result.summary()}
    assert summary["snapshot"]["n_snapshots_mean"] == pytest.approx(8 / 3)
    assert summary["snapshot"][f"{result.task.spread_key}_mean"] == pytest.approx(0.2)
    assert "n_snapshots_mean" not in summary["single"]


# -- failed fits ----------------------------------------------------------------------
class _FailsOnSomeFolds(RegressorMixin, BaseEstimator):
    """Predicts the mean; its fit raises when the training rows include row 0."""

    def fit(self, X, y):
        if np.any(X[:, 0] == -1.0):
            raise FloatingPointError("the training loss became nan in cycle 1")
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def test_failed_fits_are_recorded_not_fatal():
    X = np.arange(40.0).reshape(20, 2)
    X[0, 0] = -1.0
    y = X[:, 1]
    cv = RepeatedKFold(n_splits=4, n_repeats=1, random_state=0)
    spec = TASKS["regression"]
    result, error = _cross_validate(_FailsOnSomeFolds(), X, y, cv, spec.score, False)
    failed = ~np.isfinite(result["test_r2"])
    assert failed.sum() == 3  # row 0 trains in 3 of the 4 folds
    assert error == "FloatingPointError: the training loss became nan in cycle 1"
    X[:, 0] = -1.0  # every fit fails
    result, error = _cross_validate(_FailsOnSomeFolds(), X, y, cv, spec.score, False)
    assert result is None and error.startswith("FloatingPointError")


def test_a_network_that_diverges_does_not_end_the_comparison(tmp_path):
    params = {"hidden_layer_sizes": (4,), "n_cycles": 2, "epochs": 4, "max_learning_rate": 1e9}
    result = run_compare(
        ["diabetes"], ["snapshot", "single", "ridge"], task="regression", n_splits=2,
        snapshot_params=params,
    )  # fmt: skip
    summary = {row["estimator"]: row for row in result.summary()}
    assert summary["snapshot"]["n_failed"] == summary["single"]["n_failed"] == 2
    assert summary["ridge"]["n_failed"] == 0 and summary["ridge"]["r2_mean"] > 0.3
    assert np.isnan(summary["single"]["r2_mean"])
    gain = next(g for g in result.gains() if g["over"] == "ridge")["r2"]
    assert gain["won"] + gain["tied"] + gain["lost"] == 0  # no fold where both fitted
    table = result.format_table()
    assert "fit failed" in table and "in 2 of 2 folds" in table
    assert "FloatingPointError" in table
    paths, _ = save_compare(result, tmp_path)  # figures without bars for the failed
    for name in ("r2", "rmse", "fit_time"):
        _assert_png(tmp_path / f"compare_{name}.png")
    assert len(_rows(tmp_path / "compare_folds.csv")) == 6


# -- the regression run ---------------------------------------------------------------
def test_friedman1_bayes_rows_score_the_noiseless_function():
    result = run_compare(["friedman1"], ["ridge"], task="regression", n_splits=3)
    X, y = load_dataset("friedman1")
    folds = list(RepeatedKFold(n_splits=3, n_repeats=1, random_state=0).split(X))
    assert len(result.bayes_optimal) == 3
    for row, (_, test) in zip(result.bayes_optimal, folds, strict=True):
        noise = y[test] - friedman1_mean(X[test])
        assert row["rmse"] == pytest.approx(np.sqrt(np.mean(noise**2)))
    limit = result.bayes_summary()[0]
    assert limit["rmse_mean"] == pytest.approx(1.0, abs=0.1)
    assert 0.9 < limit["r2_mean"] < 1.0
    ridge = {row["estimator"]: row for row in result.summary()}["ridge"]
    assert ridge["rmse_mean"] > limit["rmse_mean"]  # nothing beats the Bayes prediction
    assert "Bayes-optimal" in result.format_table()
    with pytest.raises(ValueError, match="not regression datasets"):
        run_compare(["wine"], ["ridge"], task="regression")


def test_cli_regression_quick_writes_table_csv_json_and_figures(tmp_path, capsys):
    out = tmp_path / "reg"
    assert main(["compare", "--quick", "--task", "regression", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    table = captured.out
    progress = [line for line in captured.err.splitlines() if line.startswith("[")]
    assert len(progress) == 16  # 8 estimators x 2 folds
    assert progress[-1].startswith(
        "[100%] diabetes (1/1) · HistGradientBoostingRegressor (8/8) · fold 2/2"
    )
    assert "Cross-validated comparison (regression): 2-fold CV" in table
    for text in (
        "R²",
        "RMSE",
        "snapshot ensemble, weight-averaged",
        "snapshot ensemble, n_members='auto'",
        "snapshots kept (n_members_)",
        "members' predictions spread by",
        "MLPRegressor",
        "Ridge",
        "HistGradientBoostingRegressor",
        "paired gain of the snapshot ensemble, weight-averaged",
    ):
        assert text in table, text
    summary = _rows(out / "compare.csv")
    names = ["snapshot", "snapshot_weights", "snapshot_auto", "snapshot_networks", "single"]
    names += ["mlp", "ridge", "hist_gb"]
    assert [row["estimator"] for row in summary] == names
    for row in summary:
        assert row["n_folds"] == "2" and float(row["rmse_mean"]) > 0
        assert float(row["fit_time_mean"]) > 0 and float(row["predict_time_mean"]) > 0
    assert float(summary[0]["member_std_mean"]) > 0
    assert len(_rows(out / "compare_folds.csv")) == 16
    gains = _rows(out / "compare_gains.csv")
    assert {row["of"] for row in gains} == {
        "snapshot", "snapshot_weights", "snapshot_auto", "snapshot_networks"
    }  # fmt: skip
    assert {"r2_mean", "rmse_won", "rmse_lost"} <= set(gains[0])
    data = json.loads((out / "compare.json").read_text())
    assert data["settings"]["task"] == "regression"
    folds = {(row["estimator"], row["fold"]): row for row in data["folds"]}
    for fold in (0, 1):
        for name in ("snapshot", "snapshot_weights"):
            row = folds[name, fold]
            assert len(row["last_k_r2"]) == len(row["member_r2"]) == row["n_snapshots"] == 3
            # predict (all members, or their weight average) is the last-k at k = M.
            assert row["last_k_r2"][-1] == pytest.approx(row["r2"], abs=1e-6)
            assert row["last_k_rmse"][0] == pytest.approx(row["final_snapshot_rmse"])
        networks = folds["snapshot_networks", fold]
        assert networks["n_networks"] == 4 and networks["n_snapshots"] == 3
        grid = np.array(networks["network_member_rmse"], dtype=float)
        assert grid.shape == (3, 4)
        # A snapshot's score is the mean of its networks' scores.
        np.testing.assert_allclose(networks["member_rmse"], grid.mean(axis=1))
        assert networks["last_k_r2"][-1] == pytest.approx(networks["r2"], abs=1e-6)
        assert len(networks["one_network_last_k_rmse"]) == 3
        assert networks["one_network_rmse"] == networks["one_network_last_k_rmse"][-1]
        auto = folds["snapshot_auto", fold]
        assert 1 <= auto["n_members"] <= auto["n_snapshots"] == 3
        assert auto["last_k_rmse"][auto["n_members"] - 1] == pytest.approx(auto["rmse"], rel=1e-6)
    # Same seed, same training: the weight-averaged variant has the same snapshots.
    assert folds["snapshot", 0]["member_r2"] == pytest.approx(
        folds["snapshot_weights", 0]["member_r2"], abs=1e-6
    )
    for name in ("r2", "rmse", "fit_time", "predict_time"):
        _assert_png(out / f"compare_{name}.png")
    assert not list(out.glob("compare_reliability_*"))  # classification only
    assert not list(out.glob("compare_ece*")) and "ECE" not in table


def test_cli_infers_the_task_from_the_datasets(tmp_path, capsys):
    out = tmp_path / "f1"
    argv = ["compare", "--quick", "--datasets", "friedman1", "--estimators", "ridge", "hist_gb"]
    assert main([*argv, "--quiet", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "(regression)" in table and "Bayes-optimal (E[y|X] known)" in table
    data = json.loads((out / "compare.json").read_text())
    assert [row["dataset"] for row in data["bayes_optimal"]] == ["friedman1"]
    assert len(data["bayes_optimal_folds"]) == 2
    _assert_png(out / "compare_rmse.png")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--task", "regression", "--datasets", "wine"], "wine: not regression datasets"),
        (["--datasets", "wine", "diabetes"], "mixes classification and regression"),
        (["--task", "regression", "--estimators", "logreg"], "logreg: not regression"),
        (["--datasets", "wine", "--estimators", "ridge"], "ridge: not classification"),
        (["--task", "ranking"], "invalid choice"),
    ],
)
def test_bad_compare_options_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit, match="^2$") as exit_info:
        main(["compare", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


# -- the variants in a classification run ---------------------------------------------
def test_cli_classification_variants(tmp_path, capsys):
    out = tmp_path / "cls"
    argv = ["compare", "--quick", "--datasets", "wine", "--quiet", "--out", str(out)]
    argv += ["--estimators", "snapshot", "snapshot_weights", "snapshot_auto", "single"]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "snapshot ensemble, weight-averaged" in table
    assert "snapshots kept (n_members_)" in table
    gains = _rows(out / "compare_gains.csv")
    pairs = {(row["of"], row["over"]) for row in gains}
    assert ("snapshot_weights", "single") in pairs and ("snapshot_auto", "single") in pairs
    assert ("snapshot", "snapshot_weights") in pairs
    data = json.loads((out / "compare.json").read_text())
    for row in data["folds"]:
        if row["estimator"] == "snapshot_weights":
            # Its accuracy comes from the weight-averaged network: the last-k at k = M.
            assert row["last_k_log_loss"][-1] == pytest.approx(row["log_loss"], rel=1e-5)
        if row["estimator"] == "snapshot_auto":
            k = row["n_members"]
            assert row["last_k_log_loss"][k - 1] == pytest.approx(row["log_loss"], rel=1e-5)
    for name in ("accuracy", "log_loss", "predict_time"):
        _assert_png(out / f"compare_{name}.png")


# -- the snapshot ensemble of several networks ----------------------------------------
def test_compare_snapshot_networks_against_the_true_ensemble(tmp_path):
    # The snapshot ensemble of one network (0.1.0's default) against snapshot_networks.
    params = {"hidden_layer_sizes": (8,), "n_cycles": 3, "epochs": 6, "n_networks": 1}
    names = ["snapshot", "snapshot_networks", "single", "true_ensemble"]
    result = run_compare(["wine"], names, n_splits=2, snapshot_params=params)
    pairs = [(g["of"], g["over"]) for g in result.gains() if g["of"] == "snapshot_networks"]
    assert pairs == [
        ("snapshot_networks", "single"),
        ("snapshot_networks", "true_ensemble"),
        ("snapshot_networks", "snapshot"),
        ("snapshot_networks", "final_snapshot"),
    ]
    rows = [row for row in result.folds if row["estimator"] == "snapshot_networks"]
    assert len(rows) == 2
    for row in rows:
        assert row["n_networks"] == 4 and row["n_snapshots"] == 3
        grid = np.array(row["network_member_accuracy"], dtype=float)
        assert grid.shape == (3, 4)
        np.testing.assert_allclose(row["member_accuracy"], grid.mean(axis=1))
        assert row["final_snapshot_log_loss"] == pytest.approx(
            np.mean(row["network_member_log_loss"][-1])
        )
        # predict_proba is the ensemble of all 3 snapshots of all 4 networks.
        assert row["last_k_log_loss"][-1] == pytest.approx(row["log_loss"], rel=1e-6)
        assert row["one_network_accuracy"] == row["one_network_last_k_accuracy"][-1]
    one = result.last_k("wine", "snapshot_networks", one_network=True)["log_loss"]
    np.testing.assert_allclose(one, np.mean([r["one_network_last_k_log_loss"] for r in rows], 0))
    assert result.has_one_network("wine", "snapshot_networks")
    assert not result.has_one_network("wine", "snapshot")
    with pytest.raises(ValueError, match="snapshot has no one network last k scores"):
        result.last_k("wine", "snapshot", one_network=True)
    summary = {row["estimator"]: row for row in result.summary()}
    assert summary["snapshot_networks"]["n_networks_mean"] == 4
    assert "one_network_accuracy_mean" not in summary["snapshot"]
    table = result.format_table()
    for text in (
        "snapshot ensemble of 4 networks",
        "its final snapshot, one network",
        "its snapshots, one network",
        "one network's last k",
        "n_networks=4",
        "over true ensemble of 3 networks",
    ):
        assert text in table, text
    for row in rows:
        grid = np.array(row["network_member_brier"], dtype=float)
        assert grid.shape == (3, 4)
        np.testing.assert_allclose(row["member_brier"], grid.mean(axis=1))
        assert row["last_k_brier"][-1] == pytest.approx(row["brier"], rel=1e-5)
        assert row["one_network_ece"] == row["one_network_last_k_ece"][-1]
    # The out-of-fold predictions pooled: every row of wine once (2 folds, 1 repeat).
    pooled = result.top_label["wine"]
    assert set(pooled) == set(names)
    for name in names:
        confidence, right = pooled[name]
        assert confidence.shape == right.shape == (178,)
        assert np.all((confidence >= 1 / 3) & (confidence <= 1))
        accuracy = np.mean([r["accuracy"] for r in result.folds if r["estimator"] == name])
        assert np.mean(right) == pytest.approx(accuracy, abs=0.5 / 178)  # folds of 89 rows
    paths, _ = save_compare(result, tmp_path)
    assert len(_rows(tmp_path / "compare_folds.csv")) == 8
    _assert_png(tmp_path / "compare_accuracy.png")
    _assert_png(tmp_path / "compare_reliability_wine.png")


def test_one_network_columns_follow_the_fitted_networks_not_the_name(tmp_path):
    # Issue 14: once the classifier's default is several networks, "snapshot" itself
    # has them. Its folds, summary and table get the one-network columns and lines
    # because its fitted estimators have snapshot_networks_.shape[1] > 1, not because
    # of its name; the one-network variant gets none.
    params = {"hidden_layer_sizes": (8,), "n_cycles": 2, "epochs": 4, "n_networks": 4}
    names = ["snapshot", "snapshot_one_network"]
    result = run_compare(["wine"], names, n_splits=2, snapshot_params=params)
    assert result.settings["snapshot_params"]["n_networks"] == 4
    rows = {name: [r for r in result.folds if r["estimator"] == name] for name in names}
    for row in rows["snapshot"]:
        assert row["n_networks"] == 4 and row["n_snapshots"] == 2
        assert np.array(row["network_member_accuracy"], dtype=float).shape == (2, 4)
        assert row["one_network_log_loss"] == row["one_network_last_k_log_loss"][-1]
    for row in rows["snapshot_one_network"]:
        assert not any(key.startswith(("n_networks", "one_network", "network_")) for key in row)
    assert result.has_one_network("wine", "snapshot")
    assert not result.has_one_network("wine", "snapshot_one_network")
    summary = {row["estimator"]: row for row in result.summary()}
    assert summary["snapshot"]["n_networks_mean"] == 4
    assert "one_network_accuracy_mean" in summary["snapshot"]
    assert "one_network_accuracy_mean" not in summary["snapshot_one_network"]
    table = result.format_table()
    lines = table.splitlines()
    snapshot = lines.index(next(line for line in lines if line.startswith("  snapshot ensemble  ")))
    one = lines.index(next(line for line in lines if line.startswith("  snapshot ensemble, 1 ")))
    # Under the snapshot ensemble: one network's final snapshot, snapshots and last k.
    assert lines[snapshot + 1].startswith("    its final snapshot, one network ")
    assert "mean over its networks" in lines[snapshot + 1]
    assert lines[snapshot + 2].startswith("    its snapshots, one network ")
    assert lines[snapshot + 4].startswith("    one network's last k ")
    # Under the one-network variant: its final snapshot and last k, of its one network.
    assert lines[one + 1].startswith("    its final snapshot  ")
    assert "networks" not in lines[one + 1]
    assert lines[one + 2].startswith("    ensembles of its last k ")
    assert "snapshot ensemble, 1 network: the snapshot ensemble with n_networks=1" in table
    pairs = [(g["of"], g["over"]) for g in result.gains()]
    assert pairs == [
        ("snapshot", "snapshot_one_network"),
        ("snapshot", "final_snapshot"),
        ("snapshot_one_network", "final_snapshot"),
    ]
    save_compare(result, tmp_path)
    folds = _rows(tmp_path / "compare_folds.csv")
    assert {row["n_networks"] for row in folds} == {"4", ""}


def test_failed_folds_get_network_columns_from_the_fitted_folds():
    spec = TASKS["classification"]
    several = [
        {"fit_failed": False, "n_networks": 4, "one_network_accuracy": 0.9},
        {"fit_failed": True, "accuracy": np.nan},
    ]
    _fill_failed_networks(spec, several)
    assert np.isnan(several[1]["n_networks"]) and np.isnan(several[1]["one_network_accuracy"])
    assert "one_network_log_loss" not in several[1]  # no fitted fold had it
    one = [{"fit_failed": False, "accuracy": 0.9}, {"fit_failed": True, "accuracy": np.nan}]
    _fill_failed_networks(spec, one)
    assert set(one[1]) == {"fit_failed", "accuracy"}
