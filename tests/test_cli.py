"""The ``sksnapshot`` command: options, table on stdout, progress, CSV, JSON and PNG files."""

import csv
import json
import re

import numpy as np
import pytest

from sksnapshot.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000, path


def test_help_lists_both_commands(capsys):
    with pytest.raises(SystemExit, match="^0$") as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "reference" in out and "compare" in out
    with pytest.raises(SystemExit, match="^0$"):
        main(["compare", "--help"])
    out = capsys.readouterr().out
    for option in ("--datasets", "--estimators", "--n-repeats", "--n-splits", "--quick", "--out"):
        assert option in out
    # The snapshot variants of both tasks, and each task's default set.
    out = " ".join(out.split())
    assert "snapshot_one_network (n_networks=1" in out and "snapshot_networks (n_networks=4" in out
    assert "(default snapshot snapshot_one_network single true_ensemble" in out
    assert "snapshot_auto snapshot_networks single mlp ridge hist_gb)" in out


def test_reference_is_the_default_command_and_writes_its_results(tmp_path, capsys):
    out = tmp_path / "results"
    # No subcommand: options go to `reference`.
    assert main(["--quick", "--seeds", "2", "--scale", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    table = captured.out
    assert "ensemble of last k" in table
    assert "single model, same budget" in table
    assert re.search(r"Bayes-optimal, these 1000 test rows +0\.837\n", table)
    assert "won/tied/lost" in table
    assert "standardized inputs" in table and "2 seeds" in table
    # Live progress on stderr: one line per fit (the snapshot ensemble, the single model,
    # the estimator's defaults), with elapsed and remaining time.
    progress = [line for line in captured.err.splitlines() if line.startswith("[")]
    assert len(progress) == 6
    assert "seed 2/2: single model" in progress[-2]
    assert "seed 2/2: estimator defaults" in progress[-1] and "remaining" in progress[-1]
    assert re.search(r"\nestimator defaults, standardized +0\.\d{3} ± \d\.\d{3} ", table)
    assert "Paired gain of the estimator defaults over 2 seeds" in table

    per_k = _rows(out / "reference.csv")
    assert [row["k"] for row in per_k] == ["1", "2", "3", "4", "5"]  # --quick: 5 cycles
    assert per_k[0]["snapshot_accuracy_mean"] == per_k[0]["ensemble_accuracy_mean"]
    assert len(_rows(out / "reference_seeds.csv")) == 2
    data = json.loads((out / "reference.json").read_text())
    assert data["settings"]["scale"] is True and data["settings"]["epochs"] == 50
    assert data["summary"]["bayes_accuracy_test_rows"] == 0.837
    assert data["seeds"] == [0, 1]
    assert (out / "reference.txt").read_text().strip() in table
    _assert_png(out / "learning_rate.png")
    _assert_png(out / "ensemble_curve.png")
    _assert_png(out / "reliability.png")
    # The calibration scores: in the table, the per-k and per-seed CSVs and the JSON.
    assert re.search(r"\n +accuracy +log loss +Brier +top-label ECE\n", table)
    assert re.search(r"\n    top-label ECE +[+-]\d\.\d{4} ± \d\.\d{4} +\d+/\d+/\d+", table)
    assert {"ensemble_brier_mean", "snapshot_ece_std"} <= set(per_k[0])
    assert per_k[0]["snapshot_ece_mean"] == per_k[0]["ensemble_ece_mean"]  # k = 1
    seeds = _rows(out / "reference_seeds.csv")
    assert {"ensemble_brier", "final_snapshot_ece", "single_model_ece"} <= set(seeds[0])
    assert {"estimator_defaults_accuracy", "estimator_defaults_fit_time_s"} <= set(seeds[0])
    assert {"defaults_gain_over_ensemble", "estimator_defaults"} <= set(data["summary"])
    assert data["settings"]["defaults_params"]["hidden_layer_sizes"] == [100]
    assert 0 <= float(seeds[0]["ensemble_ece"]) <= 1 and 0 <= float(seeds[0]["single_model_brier"])
    assert set(data["summary"]["gain_over_single_model"]) == {
        "accuracy",
        "log_loss",
        "brier",
        "ece",
    }


def test_compare_quick_writes_table_csv_json_and_bars(tmp_path, capsys):
    out = tmp_path / "cmp"
    argv = ["compare", "--quick", "--datasets", "wine", "--out", str(out)]
    argv += ["--estimators", "snapshot", "single", "true_ensemble", "logreg", "--quiet"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    table = captured.out
    assert captured.err.count("remaining") == 0  # --quiet
    # Without --quiet, one progress line per fold, ending at 100 %.
    assert main([*argv[:-1], "--estimators", "logreg", "--out", str(tmp_path / "p")]) == 0
    progress = capsys.readouterr().err.splitlines()
    progress = [line for line in progress if line.startswith("[")]
    assert len(progress) == 2
    assert progress[-1].startswith("[100%] wine (1/1) · LogisticRegression (1/1) · fold 2/2")
    for label in ("snapshot ensemble", "its final snapshot", "true ensemble of 3 networks"):
        assert label in table
    assert "2-fold stratified CV repeated 1 times" in table
    summary = _rows(out / "compare.csv")
    assert [row["estimator"] for row in summary] == [
        "snapshot",
        "single",
        "true_ensemble",
        "logreg",
    ]
    assert all(row["dataset"] == "wine" and row["n_folds"] == "2" for row in summary)
    for row in summary:
        assert 0.5 < float(row["accuracy_mean"]) <= 1.0
        assert float(row["fit_time_mean"]) > 0 and float(row["predict_time_mean"]) > 0
    folds = _rows(out / "compare_folds.csv")
    assert len(folds) == 8
    assert "last_k_accuracy" not in folds[0]  # lists stay in the JSON
    gains = _rows(out / "compare_gains.csv")
    assert {row["of"] for row in gains} == {"snapshot"}
    assert {row["over"] for row in gains} == {"single", "true_ensemble", "logreg", "final_snapshot"}
    data = json.loads((out / "compare.json").read_text())
    assert data["settings"]["snapshot_params"]["n_cycles"] == 3
    assert len(data["folds"]) == 8
    snapshot_fold = data["folds"][0]
    assert snapshot_fold["estimator"] == "snapshot"
    assert len(snapshot_fold["last_k_accuracy"]) == len(snapshot_fold["member_accuracy"]) == 3
    # 4 networks by default: the final snapshot's score is the mean of its networks'
    # scores, and the last-1 ensemble averages their probabilities.
    assert snapshot_fold["n_networks"] == 4
    final_networks = snapshot_fold["network_member_accuracy"][-1]
    assert snapshot_fold["final_snapshot_accuracy"] == pytest.approx(np.mean(final_networks))
    assert snapshot_fold["last_k_accuracy"][-1] == snapshot_fold["accuracy"]
    assert "ensembles of its last k" in table
    for name in ("accuracy", "log_loss", "brier", "ece", "fit_time", "predict_time"):
        _assert_png(out / f"compare_{name}.png")
    _assert_png(out / "compare_reliability_wine.png")
    # Brier and top-label ECE: columns of the table, the CSVs and the paired gains.
    assert re.search(r"accuracy +log loss +Brier +top-label ECE +fit time", table)
    assert "(log loss, Brier and top-label ECE: negative is better)" in table
    assert re.search(r"\n {20,}Brier +[+-]\d\.\d{4} ± \d\.\d{4} +\d/\d/\d +top-label ECE", table)
    for row in summary:
        assert 0 <= float(row["brier_mean"]) <= 2 and 0 <= float(row["ece_mean"]) <= 1
    assert {"brier_mean", "brier_won", "ece_lost"} <= set(gains[0])
    assert {"brier", "ece", "final_snapshot_ece"} <= set(folds[0])
    # Per-snapshot scores of the new metrics: the last-k ensemble at k = M is predict_proba.
    assert len(snapshot_fold["last_k_ece"]) == len(snapshot_fold["member_brier"]) == 3
    assert snapshot_fold["last_k_ece"][-1] == pytest.approx(snapshot_fold["ece"], abs=1e-6)
    final_brier = snapshot_fold["network_member_brier"][-1]
    assert snapshot_fold["final_snapshot_brier"] == pytest.approx(np.mean(final_brier))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--seeds", "0"], "must be a positive integer"),
        (["compare", "--n-splits", "1"], "--n-splits must be at least 2"),
        (["compare", "--datasets", "iris"], "invalid choice"),
        (["reference", "--lr-update", "cycle"], "invalid choice"),
        (["reference", "--n-networks", "0"], "must be a positive integer"),
    ],
)
def test_bad_options_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit, match="^2$") as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_reference_with_several_networks(tmp_path, capsys):
    out = tmp_path / "nets"
    argv = ["reference", "--quick", "--seeds", "1", "--n-networks", "2", "--quiet"]
    assert main([*argv, "--epochs", "10", "--no-defaults-line", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    # --no-defaults-line: no line of the estimator's defaults in the table or the files.
    assert "estimator defaults" not in table + (out / "reference.txt").read_text()
    assert not any("defaults" in key for key in _rows(out / "reference_seeds.csv")[0])
    assert "defaults" not in (out / "reference.json").read_text()
    assert "2 networks trained side by side (n_networks=2)" in table
    assert "one network, all 5 snapshots" in table
    per_k = _rows(out / "reference.csv")
    assert len(per_k) == 5 and "one_network_accuracy_mean" in per_k[0]
    data = json.loads((out / "reference.json").read_text())
    assert data["settings"]["n_networks"] == 2
    _assert_png(out / "ensemble_curve.png")
    with pytest.raises(SystemExit, match="^0$"):
        main(["reference", "--help"])
    assert {"--n-networks", "--no-defaults-line"} <= set(capsys.readouterr().out.split())
