"""sksnapshot.experiments: Bayes limit, datasets, baselines, summaries, the reference run."""

import io

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sksnapshot import SnapshotEnsembleClassifier
from sksnapshot._inspection import grid_scores, stack_scores, top_label, top_label_ece
from sksnapshot.experiments import (
    COMPARE_DATASETS,
    DEFAULT_ESTIMATORS,
    REFERENCE_PARAMS,
    SNAPSHOT_ESTIMATORS,
    bayes_accuracy,
    bayes_posterior,
    brier_score,
    compare_estimators,
    estimator_label,
    expected_calibration_error,
    independent_ensemble,
    load_dataset,
    member_disagreement,
    reference_problem,
    run_reference,
    single_network,
)
from sksnapshot.experiments._estimators import SNAPSHOT_NETWORKS
from sksnapshot.experiments._progress import Progress, format_duration
from sksnapshot.experiments._report import format_mean_std, mean_std, paired_gain


# -- the Bayes limit ------------------------------------------------------------------
def test_bayes_accuracy_of_the_reference_test_rows():
    # 0.837 was measured independently (REFERENCE.md): nearest generating center.
    problem = reference_problem()
    assert problem.bayes_accuracy() == pytest.approx(0.837, abs=1e-12)
    _, _, centers = make_blobs(
        n_samples=1100, centers=3, n_features=2, cluster_std=2, random_state=2,
        return_centers=True,
    )  # fmt: skip
    np.testing.assert_array_equal(problem.centers, centers)


def test_bayes_with_equal_priors_is_the_nearest_center():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 3)) * 3
    X = rng.normal(size=(500, 3)) * 3
    nearest = np.argmin(((X[:, None] - centers) ** 2).sum(-1), axis=1)
    posterior = bayes_posterior(X, centers, cluster_std=1.7)
    np.testing.assert_array_equal(posterior.argmax(1), nearest)
    np.testing.assert_allclose(posterior.sum(1), 1.0)


@pytest.mark.parametrize("priors", [None, [0.8, 0.2]])
def test_bayes_accuracy_against_monte_carlo_and_the_closed_form(priors):
    # Two 1-d Gaussians at distance d, std s: the Bayes boundary sits at
    # t = d/2 + s^2 log(p0/p1) / d from center 0, and the accuracy is
    # p0 Phi(t/s) + p1 Phi((d - t)/s).
    d, s = 2.0, 1.5
    p0, p1 = (0.5, 0.5) if priors is None else priors
    t = d / 2 + s**2 * np.log(p0 / p1) / d
    exact = p0 * norm.cdf(t / s) + p1 * norm.cdf((d - t) / s)
    rng = np.random.default_rng(1)
    n = 400_000
    y = (rng.random(n) < p1).astype(int)
    X = (y * d + s * rng.standard_normal(n))[:, None]
    centers = [[0.0], [d]]
    estimate = bayes_accuracy(X, y, centers, cluster_std=s, priors=priors)
    standard_error = np.sqrt(exact * (1 - exact) / n)
    assert abs(estimate - exact) < 4 * standard_error
    # The Bayes rule beats any other threshold on the same Monte-Carlo sample.
    for shift in (-0.3, 0.3):
        other = np.mean((X[:, 0] > t + shift) == y)
        assert estimate > other


def test_bayes_posterior_is_calibrated_on_monte_carlo_draws():
    problem = reference_problem()
    rng = np.random.default_rng(2)
    n = 300_000
    y = rng.integers(3, size=n)
    X = problem.centers[y] + problem.cluster_std * rng.standard_normal((n, 2))
    posterior = bayes_posterior(X, problem.centers, problem.cluster_std)
    # Among points given posterior ~p for class 1, a fraction ~p belongs to class 1.
    bins = np.digitize(posterior[:, 1], np.linspace(0, 1, 11)[1:-1])
    for b in np.unique(bins):
        rows = bins == b
        if rows.sum() > 2000:
            assert np.mean(y[rows] == 1) == pytest.approx(posterior[rows, 1].mean(), abs=0.02)
    # Population accuracy, 0.823 in REFERENCE.md.
    assert problem.bayes_population_accuracy() == pytest.approx(0.823, abs=0.002)


def test_bayes_input_errors():
    with pytest.raises(ValueError, match="same space"):
        bayes_posterior([[0.0, 1.0]], [[0.0], [1.0]], 1.0)
    with pytest.raises(ValueError, match="cluster_std must be positive"):
        bayes_posterior([[0.0]], [[0.0], [1.0]], 0.0)
    with pytest.raises(ValueError, match="priors must be 2 positive numbers"):
        bayes_posterior([[0.0]], [[0.0], [1.0]], 1.0, priors=[1.0])


# -- datasets and estimators ----------------------------------------------------------
def test_datasets():
    shapes = {name: load_dataset(name)[0].shape for name in COMPARE_DATASETS}
    assert shapes == {
        "blobs": (1100, 2),
        "digits": (1797, 64),
        "breast_cancer": (569, 30),
        "wine": (178, 13),
        "moons_noisy": (200, 2),
        "label_noise": (500, 20),
        "digits_10pct": (179, 64),
        "diabetes": (442, 10),
        "friedman1": (500, 10),
    }
    _, y = load_dataset("digits_10pct")
    assert np.bincount(y).min() >= 17  # stratified
    with pytest.raises(ValueError, match="Unknown dataset 'iris'"):
        load_dataset("iris")


def test_compare_estimators_share_the_network_and_budget():
    params = dict(hidden_layer_sizes=(7,), n_cycles=4, epochs=12, max_learning_rate=0.02)
    models = compare_estimators(snapshot_params=params, random_state=3)
    assert list(models) == [
        "snapshot", "snapshot_one_network", "single", "true_ensemble", "mlp", "logreg",
        "random_forest", "hist_gb",
    ]  # fmt: skip
    snapshot, single = models["snapshot"][-1], models["single"][-1]
    # The one-network variant differs from the snapshot ensemble by n_networks only.
    assert models["snapshot_one_network"][-1].get_params() == snapshot.get_params() | {
        "n_networks": 1
    }
    assert snapshot.get_params()["n_cycles"] == 4 and single.n_cycles == 1
    for key in ("hidden_layer_sizes", "epochs", "max_learning_rate", "random_state"):
        assert getattr(single, key) == getattr(snapshot, key)
    members = [est for _, est in models["true_ensemble"][-1].estimators]
    assert len(members) == 4
    assert [m.random_state for m in members] == [3, 4, 5, 6]
    assert all(m.n_cycles == 1 and m.epochs == 12 for m in members)
    assert models["mlp"][-1].hidden_layer_sizes == (7,)
    with pytest.raises(ValueError, match="Unknown estimator"):
        compare_estimators(["svm"])


def test_the_network_variants_keep_every_other_snapshot_parameter():
    # Issue 14: snapshot_one_network is the snapshot ensemble with n_networks=1 and
    # snapshot_networks with n_networks=SNAPSHOT_NETWORKS (4), whatever snapshot_params
    # say; every other parameter, the user's included, stays the snapshot ensemble's.
    params = dict(hidden_layer_sizes=(7,), n_cycles=5, epochs=10, n_networks=4,
                  n_members=0.3, label_smoothing=0.1, max_learning_rate=0.02)  # fmt: skip
    names = ["snapshot", "snapshot_one_network", "snapshot_networks"]
    models = compare_estimators(names, snapshot_params=params, random_state=2)
    snapshot, one, four = (models[name][-1] for name in names)
    assert snapshot.n_networks == 4 and (snapshot.n_members, snapshot.n_cycles) == (0.3, 5)
    assert one.get_params() == snapshot.get_params() | {"n_networks": 1}
    assert four.get_params() == snapshot.get_params() | {"n_networks": SNAPSHOT_NETWORKS}
    assert (one.label_smoothing, one.n_members, one.random_state) == (0.1, 0.3, 2)
    assert SNAPSHOT_NETWORKS == 4
    assert estimator_label("snapshot_one_network") == "snapshot ensemble, 1 network"
    assert estimator_label("snapshot_networks") == "snapshot ensemble of 4 networks"
    # The regressor's too, through its wrappers; both are snapshot ensembles of compare.
    models = compare_estimators(
        names, task="regression", snapshot_params={"n_networks": 3, "n_members": 2}
    )
    snapshot, one, four = (models[name].regressor[-1] for name in names)
    assert one.get_params() == snapshot.get_params() | {"n_networks": 1}
    assert four.get_params() == snapshot.get_params() | {"n_networks": 4}
    assert set(names) <= set(SNAPSHOT_ESTIMATORS)
    # Each task's default set has the variant whose networks differ from its default.
    assert "snapshot_one_network" in DEFAULT_ESTIMATORS["classification"]
    assert "snapshot_networks" not in DEFAULT_ESTIMATORS["classification"]
    assert "snapshot_networks" in DEFAULT_ESTIMATORS["regression"]
    assert "snapshot_one_network" not in DEFAULT_ESTIMATORS["regression"]


def test_the_single_network_is_one_network_one_cycle_all_snapshots():
    # Issue 14: whatever the snapshot ensemble's networks and kept snapshots, its
    # same-budget single network is one network, one cosine decay, its only snapshot.
    params = dict(hidden_layer_sizes=(7,), n_cycles=5, epochs=10, n_networks=4,
                  n_members=0.3, label_smoothing=0.1)  # fmt: skip
    models = compare_estimators(
        ["snapshot", "single", "true_ensemble"], snapshot_params=params, random_state=2
    )
    snapshot, single = models["snapshot"][-1], models["single"][-1]
    assert (snapshot.n_networks, snapshot.n_members, snapshot.n_cycles) == (4, 0.3, 5)
    one = {"n_cycles": 1, "n_networks": 1, "n_members": None}
    assert single.get_params() == snapshot.get_params() | one
    assert single.label_smoothing == 0.1
    members = [est for _, est in models["true_ensemble"][-1].estimators]
    assert len(members) == 5
    for seed, member in enumerate(members, start=2):
        assert member.get_params() == snapshot.get_params() | one | {"random_state": seed}
    # The regressor's too (it has no label_smoothing), and through its wrappers.
    models = compare_estimators(
        ["snapshot", "single", "true_ensemble"], task="regression",
        snapshot_params={"n_networks": 3, "n_members": 2, "n_cycles": 4}
    )  # fmt: skip
    snapshot = models["snapshot"].regressor[-1]
    single = models["single"].regressor[-1]
    assert single.get_params() == snapshot.get_params() | one
    members = models["true_ensemble"].regressor[-1].estimators
    assert all(m.n_networks == 1 and m.n_members is None for _, m in members)
    # single_network on the wrappers leaves the wrapped estimator as it was.
    wrapped = single_network(models["snapshot"])
    assert wrapped.regressor[-1].get_params() == single.get_params()
    assert models["snapshot"].regressor[-1].n_networks == 3
    net = SnapshotEnsembleClassifier(n_networks=2, n_members=0.5, random_state=1)
    single = single_network(make_pipeline(StandardScaler(), net))[-1]
    assert single.get_params() == net.get_params() | one
    assert net.n_networks == 2 and single is not net


def test_independent_ensemble_averages_differently_seeded_members(blobs):
    X, y = blobs
    net = SnapshotEnsembleClassifier(hidden_layer_sizes=(8,), n_cycles=1, epochs=3)
    ensemble = clone(independent_ensemble(net, 3, random_state=10)).fit(X, y)
    members = [est.predict_proba(X) for est in ensemble.estimators_]
    np.testing.assert_allclose(ensemble.predict_proba(X), np.mean(members, axis=0), atol=1e-12)
    assert not np.allclose(members[0], members[1])  # different initialisations
    with pytest.raises(ValueError, match="n_estimators"):
        independent_ensemble(net, 0)


# -- summaries ------------------------------------------------------------------------
def test_paired_gain_and_mean_std():
    gain = paired_gain([0.8, 0.7, 0.9, 0.5], [0.7, 0.7, 0.95, 0.5])
    assert (gain["won"], gain["tied"], gain["lost"]) == (1, 2, 1)
    assert gain["mean"] == pytest.approx(0.05 / 4)
    assert gain["std"] == pytest.approx(np.std([0.1, 0, -0.05, 0], ddof=1))
    loss = paired_gain([0.3, 0.5], [0.4, 0.4], higher_is_better=False)
    assert (loss["won"], loss["tied"], loss["lost"]) == (1, 0, 1)
    assert mean_std([2.0]) == (2.0, 0.0)
    assert format_mean_std([-1e-9, 1e-9 - 1e-12]) == "0.000 ± 0.000"


# -- calibration scores -----------------------------------------------------------------
def test_brier_score_by_hand():
    classes = np.array(["a", "b", "c"])
    proba = np.array([[0.2, 0.7, 0.1], [0.5, 0.5, 0.0], [0.6, 0.3, 0.1]])
    y = np.array(["b", "a", "c"])
    # (0.04 + 0.09 + 0.01), (0.25 + 0.25 + 0), (0.36 + 0.09 + 0.81): mean of the sums.
    assert brier_score(y, classes, proba) == pytest.approx((0.14 + 0.5 + 1.26) / 3)
    # A class missing from y still counts (its column's squared probabilities).
    assert brier_score(y[:2], classes, proba[:2]) == pytest.approx((0.14 + 0.5) / 2)
    # Binary: summed over both classes, twice the usual binary Brier score.
    binary = np.array([[0.8, 0.2], [0.8, 0.2]])
    assert brier_score(np.array([0, 1]), np.array([0, 1]), binary) == pytest.approx(
        (0.08 + 1.28) / 2
    )


def _six_rows():
    """Six rows of three classes: top-label confidences 0.95, 0.95, 0.5, 0.5, 0.38, 0.36."""
    proba = np.array(
        [
            [0.95, 0.03, 0.02],  # right
            [0.02, 0.95, 0.03],  # wrong
            [0.5, 0.3, 0.2],  # right
            [0.3, 0.5, 0.2],  # right
            [0.38, 0.32, 0.30],  # wrong
            [0.30, 0.34, 0.36],  # right
        ]
    )
    return np.array([0, 0, 0, 1, 2, 2]), np.array([0, 1, 2]), proba


def test_expected_calibration_error_by_hand():
    y, classes, proba = _six_rows()
    confidence, correct = top_label(y, classes, proba)
    np.testing.assert_allclose(confidence, [0.95, 0.95, 0.5, 0.5, 0.38, 0.36])
    np.testing.assert_array_equal(correct, [True, False, True, True, False, True])
    # 15 bins of width 1/15: {0.95, 0.95} accuracy 1/2, {0.5, 0.5} accuracy 1,
    # {0.38, 0.36} (both in (1/3, 2/5]) accuracy 1/2.
    hand = (2 * abs(0.5 - 0.95) + 2 * abs(1 - 0.5) + 2 * abs(0.5 - 0.37)) / 6
    assert expected_calibration_error(y, classes, proba) == pytest.approx(hand)
    assert hand == pytest.approx(0.36)
    # One bin: |accuracy - mean confidence| over all rows.
    one = abs(4 / 6 - np.mean([0.95, 0.95, 0.5, 0.5, 0.38, 0.36]))
    assert expected_calibration_error(y, classes, proba, n_bins=1) == pytest.approx(one)
    # 0.36 and 0.38 split with 25 bins of width 0.04: (0.32, 0.36] and (0.36, 0.40].
    split = (2 * 0.45 + 2 * 0.5 + abs(0 - 0.38) + abs(1 - 0.36)) / 6
    assert expected_calibration_error(y, classes, proba, n_bins=25) == pytest.approx(split)
    assert top_label_ece(confidence, correct) == expected_calibration_error(y, classes, proba)


def test_expected_calibration_error_of_calibrated_predictions_is_zero():
    # Confidence 0.75 on 4 rows with 3 right, 1.0 on 2 rows both right.
    proba = np.array([[0.75, 0.25]] * 4 + [[0.0, 1.0]] * 2)
    y = np.array([0, 0, 0, 1, 1, 1])
    assert expected_calibration_error(y, np.array([0, 1]), proba) == pytest.approx(0.0)


@pytest.mark.parametrize("n_bins", [0, -3, 2.5, True])
def test_expected_calibration_error_refuses_a_bad_number_of_bins(n_bins):
    y, classes, proba = _six_rows()
    with pytest.raises(ValueError, match="n_bins must be a positive integer"):
        expected_calibration_error(y, classes, proba, n_bins=n_bins)


def test_stack_and_grid_scores_of_the_calibration_metrics():
    y, classes, proba = _six_rows()
    flipped = proba[:, ::-1]
    stack = np.array([proba, flipped])
    for metric, scorer in (("brier", brier_score), ("ece", expected_calibration_error)):
        hand = [scorer(y, classes, proba), scorer(y, classes, flipped)]
        np.testing.assert_allclose(stack_scores(y, stack, metric, classes), hand)
        grid = np.array([[proba, np.full_like(proba, np.nan)], [flipped, proba]])
        expected = [[hand[0], np.nan], [hand[1], hand[0]]]
        np.testing.assert_allclose(grid_scores(y, grid, metric, classes), expected)


def test_member_disagreement():
    one_hot = np.eye(2)
    members = np.array([one_hot[[0, 0, 1, 1]], one_hot[[0, 1, 1, 1]], one_hot[[1, 1, 1, 1]]])
    # pairs: (0,1) differ on 1/4, (0,2) on 2/4, (1,2) on 1/4
    assert member_disagreement(members) == pytest.approx(np.mean([0.25, 0.5, 0.25]))
    assert member_disagreement(members[:1]) == 0.0


def test_progress_estimates_the_remaining_time():
    stream, now = io.StringIO(), [100.0]
    progress = Progress(10, stream=stream, timer=lambda: now[0])
    assert progress.remaining() is None
    now[0] = 108.0
    progress.advance(4, "first part")
    assert progress.remaining() == pytest.approx(12.0)  # 8 s for 4 units, 6 to go
    assert stream.getvalue() == "[ 40%] first part | elapsed 8.0 s, remaining ~12.0 s\n"
    quiet = Progress(1, stream=stream, enabled=False)
    quiet.advance(1, "nothing shown")
    assert "nothing" not in stream.getvalue()
    assert format_duration(3725) == "1:02:05" and format_duration(75) == "1:15"


# -- the reference experiment ---------------------------------------------------------
def test_run_reference_small(tmp_path):
    stream = io.StringIO()
    result = run_reference(
        2, n_cycles=3, epochs=12, scale=True, defaults_line=False, progress=stream
    )
    m = 3
    assert result.member_accuracy.shape == result.ensemble_accuracy.shape == (2, m)
    # The ensemble of the last 1 is the final snapshot.
    np.testing.assert_array_equal(result.ensemble_accuracy[:, 0], result.member_accuracy[:, -1])
    rows = result.per_k()
    assert [(r["k"], r["cycle"]) for r in rows] == [(1, 3), (2, 2), (3, 1)]
    assert rows[2]["snapshot_accuracy_mean"] == pytest.approx(result.member_accuracy[:, 0].mean())
    summary = result.summary()
    gain = summary["gain_over_single_model"]["accuracy"]
    assert gain["mean"] == pytest.approx(
        np.mean(result.ensemble_accuracy[:, -1] - result.single_accuracy)
    )
    assert gain["won"] + gain["tied"] + gain["lost"] == 2
    assert summary["bayes_accuracy_test_rows"] == 0.837
    # Seeds differ, the data do not: different seeds give different models.
    assert result.estimator[-1].random_state == 0
    assert stream.getvalue().count("\n") == 4  # one line per fit
    table = result.format_table()
    assert "ensemble of last k" in table and "Bayes-optimal" in table
    # Brier and top-label ECE, by hand from the first seed's models on the test rows.
    problem = reference_problem()
    X, y = problem.X_test, problem.y_test
    for model, brier, ece in (
        (result.estimator, result.ensemble_brier[0, -1], result.ensemble_ece[0, -1]),
        (result.single_estimator, result.single_brier[0], result.single_ece[0]),
    ):
        proba = model.predict_proba(X)
        assert brier == pytest.approx(np.mean(np.sum((proba - np.eye(3)[y]) ** 2, axis=1)))
        confidence, right = proba.max(axis=1), proba.argmax(axis=1) == y
        bins = np.clip(np.ceil(confidence * 15).astype(int) - 1, 0, 14)
        gaps = [abs(np.sum(right[bins == b] - confidence[bins == b])) for b in range(15)]
        assert ece == pytest.approx(np.sum(gaps) / len(y))
    scaler, network = result.estimator[:-1], result.estimator[-1]  # scale=True
    final = network.member_predict_proba(scaler.transform(X))[-1]
    final_ece = expected_calibration_error(y, np.arange(3), final)
    assert result.member_ece[0, -1] == pytest.approx(final_ece)
    np.testing.assert_array_equal(result.ensemble_brier[:, 0], result.member_brier[:, -1])
    assert result.single_ece.shape == (2,) and result.ensemble_ece.shape == (2, m)
    assert rows[0]["ensemble_ece_mean"] == pytest.approx(result.ensemble_ece[:, 0].mean())
    gain = summary["gain_over_single_model"]["brier"]
    diff = result.ensemble_brier[:, -1] - result.single_brier
    assert gain["mean"] == pytest.approx(np.mean(diff))
    final_ece = summary["final_snapshot"]["ece"]["mean"]
    assert final_ece == pytest.approx(result.member_ece[:, -1].mean())
    for text in ("Brier", "top-label ECE", "15 equal-width confidence bins"):
        assert text in table, text
    # The reliability diagram's data: the test rows of both seeds, pooled.
    confidence, right = result.top_label["snapshot"]
    assert confidence.shape == right.shape == (2 * len(y),)
    assert np.mean(right) == pytest.approx(result.ensemble_accuracy[:, -1].mean())
    assert np.mean(result.top_label["single"][1]) == pytest.approx(result.single_accuracy.mean())
    # defaults_line=False: no estimator-defaults line anywhere.
    assert result.defaults_accuracy is None and result.defaults_estimator is None
    assert "defaults" not in result.top_label and "estimator defaults" not in table
    assert not any("defaults" in key for key in (*summary, *result.per_seed()[0]))
    assert "defaults_params" not in result.to_dict()["settings"]


def test_the_defaults_line_is_the_estimator_defaults_on_standardized_inputs():
    stream = io.StringIO()
    result = run_reference(1, n_cycles=2, epochs=4, progress=stream)
    assert stream.getvalue().count("\n") == 3  # snapshot ensemble, single model, defaults
    assert "seed 1/1: estimator defaults" in stream.getvalue()
    # By hand, with scikit-learn's metrics: the defaults behind a StandardScaler, seed 0.
    problem = reference_problem()
    X, y = problem.X_test, problem.y_test
    hand = make_pipeline(StandardScaler(), SnapshotEnsembleClassifier(random_state=0))
    hand.fit(problem.X_train, problem.y_train)
    proba = hand.predict_proba(X)
    assert result.defaults_accuracy[0] == accuracy_score(y, hand.predict(X))
    assert result.defaults_log_loss[0] == pytest.approx(log_loss(y, proba), rel=1e-6)
    onehot = np.eye(3)[y]
    brier = np.mean([brier_score_loss(onehot[:, c], proba[:, c]) for c in range(3)]) * 3
    assert result.defaults_brier[0] == pytest.approx(brier, rel=1e-6)
    confidence, right = proba.max(axis=1), proba.argmax(axis=1) == y
    bins = np.clip(np.ceil(confidence * 15).astype(int) - 1, 0, 14)
    gaps = [abs(np.sum(right[bins == b] - confidence[bins == b])) for b in range(15)]
    assert result.defaults_ece[0] == pytest.approx(np.sum(gaps) / len(y), rel=1e-6)
    fitted = result.defaults_estimator
    assert fitted[-1].get_params() == hand[-1].get_params()
    assert isinstance(fitted[0], StandardScaler) and result.defaults_fit_time[0] > 0
    # Paired against the tutorial's snapshot ensemble and its single model, seed by seed.
    summary = result.summary()
    gain = summary["defaults_gain_over_ensemble"]["accuracy"]
    assert gain["mean"] == result.defaults_accuracy[0] - result.ensemble_accuracy[0, -1]
    gain = summary["defaults_gain_over_single_model"]["log_loss"]
    assert gain["mean"] == pytest.approx(result.defaults_log_loss[0] - result.single_log_loss[0])
    assert gain["won"] == int(result.defaults_log_loss[0] < result.single_log_loss[0])
    assert summary["estimator_defaults"]["brier"]["mean"] == result.defaults_brier[0]
    assert set(summary["fit_time_s"]) == {"snapshot", "single", "defaults"}
    row = result.per_seed()[0]
    assert row["estimator_defaults_ece"] == result.defaults_ece[0]
    assert row["estimator_defaults_fit_time_s"] == result.defaults_fit_time[0]
    assert result.to_dict()["settings"]["defaults_params"]["epochs"] == hand[-1].epochs
    assert "random_state" not in result.to_dict()["settings"]["defaults_params"]
    np.testing.assert_array_equal(result.top_label["defaults"][1], right)
    table = result.format_table()
    line = next(t for t in table.splitlines() if t.startswith("estimator defaults, standardized"))
    assert f"{result.defaults_accuracy[0]:.3f} ± 0.000" in line
    assert "Paired gain of the estimator defaults over 1 seeds" in table
    assert "  over the ensemble of all 2 snapshots:" in table
    assert f"n_networks={hand[-1].n_networks!r}, n_cycles={hand[-1].n_cycles!r}" in table
    assert "estimator defaults" in table.splitlines()[-1]  # its fit time


#: Parameters of the classifier the reference experiment leaves to its defaults: how the
#: fit runs rather than what it fits, or options that are off unless asked for.
_NOT_PINNED = {
    "model", "loss", "metrics", "callbacks", "class_weight", "warm_start", "random_state",
    "verbose", "run_eagerly", "jit_compile", "shuffle", "validation_fraction",
    "validation_batch_size", "validation_split", "cycle_length_mult",
    "max_learning_rate_decay",
}  # fmt: skip


def _patch_defaults(monkeypatch, **defaults):
    """Give ``SnapshotEnsembleClassifier`` other defaults (issue 14 changes them)."""
    init = SnapshotEnsembleClassifier.__init__
    monkeypatch.setattr(init, "__kwdefaults__", {**init.__kwdefaults__, **defaults})
    assert (
        SnapshotEnsembleClassifier().get_params() | defaults
        == SnapshotEnsembleClassifier().get_params()
    )


def test_reference_params_pin_the_tutorial_whatever_the_defaults(monkeypatch):
    pinned = {"n_networks": 1, "n_members": None, "label_smoothing": 0.0, "momentum": 0.9}
    assert REFERENCE_PARAMS.items() >= pinned.items()
    # A new parameter of the classifier must be pinned here or named as left to it.
    assert set(SnapshotEnsembleClassifier().get_params()) - set(REFERENCE_PARAMS) == _NOT_PINNED
    _patch_defaults(
        monkeypatch, n_networks=4, n_members=0.3, label_smoothing=0.1, momentum=0.5,
        hidden_layer_sizes=(3,),
    )  # fmt: skip
    # The defaults line follows the (patched) defaults, the reference does not.
    _patch_defaults(monkeypatch, epochs=20)
    result = run_reference(1, n_cycles=2, epochs=4)
    defaults = result.defaults_estimator[-1]
    assert (defaults.n_networks, defaults.n_members, defaults.label_smoothing) == (4, 0.3, 0.1)
    assert len(defaults.snapshots_) == 10 and defaults.n_members_ == 3
    assert "n_networks=4" in result.format_table() and "n_members=0.3" in result.format_table()
    params = result.estimator.get_params()
    assert params == params | REFERENCE_PARAMS | {"n_cycles": 2, "epochs": 4}
    assert result.estimator.n_members_ == 2 and len(result.estimator.snapshots_) == 2
    one = {"n_cycles": 1, "n_networks": 1, "n_members": None}
    assert result.single_estimator.get_params() == params | one
    assert result.settings["label_smoothing"] == 0.0 and result.settings["n_networks"] == 1
    # --n-networks still sets the snapshot ensemble's networks; the single model stays one.
    result = run_reference(1, n_cycles=2, epochs=4, n_networks=2, defaults_line=False)
    assert result.estimator.n_networks == 2 and result.estimator.label_smoothing == 0.0
    assert result.single_estimator.get_params() == result.estimator.get_params() | one


def test_run_reference_with_two_networks():
    result = run_reference(
        1, n_cycles=3, epochs=6, hidden_layer_sizes=(8,), n_networks=2, defaults_line=False
    )
    assert result.settings["n_networks"] == 2
    assert result.estimator.n_networks == 2 and result.single_estimator.n_networks == 1
    assert result.one_network_accuracy.shape == result.one_network_log_loss.shape == (1, 3)
    # By hand: every network's ensemble of its last k snapshots, averaged over networks.
    problem = reference_problem()
    X, y = problem.X_test, problem.y_test
    proba = result.estimator.member_predict_proba(X).reshape(3, 2, len(X), 3)
    for k in (1, 2, 3):
        hand = np.mean([np.mean(proba[-k:, n].mean(0).argmax(1) == y) for n in range(2)])
        assert result.one_network_accuracy[0, k - 1] == pytest.approx(hand)
    each = [[np.mean(proba[s, n].argmax(1) == y) for n in range(2)] for s in range(3)]
    np.testing.assert_allclose(result.member_accuracy[0], np.mean(each, axis=1))
    assert result.ensemble_accuracy[0, -1] == result.estimator.score(X, y)
    rows = result.per_k()
    assert rows[0]["one_network_accuracy_mean"] == result.one_network_accuracy[0, 0]
    assert "ensemble_one_network" in result.summary()
    table = result.format_table()
    assert "one network, last k" in table and "n_networks=2" in table
    # One network: no such columns.
    one = run_reference(1, n_cycles=2, epochs=4, defaults_line=False)
    assert "one_network_accuracy_mean" not in one.per_k()[0]
