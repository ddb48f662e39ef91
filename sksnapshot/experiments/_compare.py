"""Cross-validated comparison of the snapshot ensemble with other classifiers.

Every estimator is evaluated with ``cross_validate`` on the same repeated stratified
folds, so the comparison is paired fold by fold. The score of a fold comes from one
``predict_proba`` call on its test rows: accuracy of the most probable class and log loss;
the predict time is that call's (``cross_validate``'s ``score_time``).
"""

import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import RepeatedStratifiedKFold, cross_validate

from .._classifier import SnapshotEnsembleClassifier
from ._datasets import COMPARE_DATASETS, load_dataset
from ._estimators import compare_estimators, estimator_label
from ._progress import Progress
from ._reference import snapshot_scores
from ._report import environment, format_gain, format_mean_std, mean_std, paired_gain

__all__ = ["CompareResult", "run_compare"]

#: Parameters of the snapshot ensemble recorded with the results.
_SHOWN_PARAMS = (
    "hidden_layer_sizes",
    "n_cycles",
    "epochs",
    "max_learning_rate",
    "lr_update",
    "batch_size",
)

#: Relative fit cost of every estimator, for the remaining-time estimate only.
_COST = {
    "snapshot": 1.0,
    "single": 1.0,
    "mlp": 0.25,
    "logreg": 0.02,
    "random_forest": 0.1,
    "hist_gb": 0.2,
}


def _fold_scorer(on_scored):
    """A ``cross_validate`` scorer: accuracy and log loss from one ``predict_proba``."""

    def score(estimator, X, y):
        proba = estimator.predict_proba(X)
        classes = estimator.classes_
        scores = {
            "accuracy": float(np.mean(classes[proba.argmax(axis=1)] == np.asarray(y))),
            "log_loss": float(log_loss(y, proba, labels=classes)),
        }
        on_scored()
        return scores

    return score


@dataclass
class CompareResult:
    """Everything measured by :func:`run_compare`.

    ``folds`` has one dict per dataset, estimator and fold (in the same fold order for
    every estimator); the snapshot ensemble's rows also hold its final snapshot's scores
    and its members' disagreement.
    """

    settings: dict
    folds: list
    wall_time: float

    def _values(self, dataset, estimator, key):
        return np.array(
            [
                row[key]
                for row in self.folds
                if row["dataset"] == dataset and row["estimator"] == estimator
            ]
        )

    @property
    def datasets(self):
        """Datasets in the order they ran."""
        return list(dict.fromkeys(row["dataset"] for row in self.folds))

    @property
    def estimators(self):
        """Estimators in the order they ran."""
        return list(dict.fromkeys(row["estimator"] for row in self.folds))

    def label(self, name):
        """How tables and figures name the estimator ``name``."""
        return estimator_label(name, self.settings["snapshot_params"]["n_cycles"])

    def summary(self):
        """One row per dataset and estimator: mean and std of every measure over folds."""
        rows = []
        for dataset in self.datasets:
            for estimator in self.estimators:
                row = {"dataset": dataset, "estimator": estimator}
                keys = ["accuracy", "log_loss", "fit_time", "predict_time"]
                if estimator == "snapshot":
                    keys += ["final_snapshot_accuracy", "final_snapshot_log_loss", "disagreement"]
                for key in keys:
                    values = self._values(dataset, estimator, key)
                    row[f"{key}_mean"], row[f"{key}_std"] = map(float, mean_std(values))
                row["n_folds"] = len(self._values(dataset, estimator, "accuracy"))
                rows.append(row)
        return rows

    def gains(self):
        """Paired gains of the snapshot ensemble over every other estimator, per dataset."""
        if "snapshot" not in self.estimators:
            return []
        rows = []
        for dataset in self.datasets:
            ours = {key: self._values(dataset, "snapshot", key) for key in ("accuracy", "log_loss")}
            others = {
                other: {key: self._values(dataset, other, key) for key in ours}
                for other in self.estimators
                if other != "snapshot"
            }
            others["final_snapshot"] = {
                "accuracy": self._values(dataset, "snapshot", "final_snapshot_accuracy"),
                "log_loss": self._values(dataset, "snapshot", "final_snapshot_log_loss"),
            }
            for other, theirs in others.items():
                rows.append(
                    {
                        "dataset": dataset,
                        "over": other,
                        "accuracy": paired_gain(ours["accuracy"], theirs["accuracy"]),
                        "log_loss": paired_gain(
                            ours["log_loss"], theirs["log_loss"], higher_is_better=False
                        ),
                    }
                )
        return rows

    def to_dict(self):
        """All results as plain data (for JSON)."""
        return {
            "experiment": "compare",
            "settings": self.settings,
            "wall_time_s": self.wall_time,
            "environment": environment(),
            "summary": self.summary(),
            "gains_of_snapshot_ensemble": self.gains(),
            "folds": self.folds,
        }

    def last_k(self, dataset):
        """Mean over folds of the ensemble of the last k snapshots, k = 1..M."""
        rows = [
            row
            for row in self.folds
            if row["dataset"] == dataset and row["estimator"] == "snapshot"
        ]
        return {
            key: np.mean([row[f"last_k_{key}"] for row in rows], axis=0)
            for key in ("accuracy", "log_loss")
        }

    def _last_k_line(self, dataset):
        last_k = self.last_k(dataset)
        acc, loss = last_k["accuracy"], last_k["log_loss"]
        best_acc, best_loss = int(np.argmax(acc)), int(np.argmin(loss))
        return (
            f"  {'  ensembles of its last k':<32}best k by accuracy {best_acc + 1} "
            f"({acc[best_acc]:.3f}), by log loss {best_loss + 1} ({loss[best_loss]:.3f}); "
            "chosen on the test folds, so optimistic"
        )

    def format_table(self):
        """The report printed by ``sksnapshot compare``."""
        s = self.settings
        lines = [
            f"Cross-validated comparison: {s['n_splits']}-fold stratified CV repeated "
            f"{s['n_repeats']} times (the same folds for every estimator); mean ± std over "
            "folds.",
            f"Snapshot ensemble: {s['snapshot_params']}, inputs standardized; single "
            "network: the same with n_cycles=1 (one cosine decay over all epochs); true "
            f"ensemble: {s['snapshot_params']['n_cycles']} such single networks with "
            "different seeds.",
        ]
        summary = self.summary()
        gains = self.gains()
        header = (
            f"  {'estimator':<32}{'accuracy':>15}  {'log loss':>15}  "
            f"{'fit time (s)':>15}  {'predict (s)':>15}"
        )
        for dataset in self.datasets:
            description = COMPARE_DATASETS[dataset].description
            lines += ["", f"{dataset}: {description}", header]
            for row in (r for r in summary if r["dataset"] == dataset):
                values = {
                    key: self._values(dataset, row["estimator"], key)
                    for key in ("accuracy", "log_loss", "fit_time", "predict_time")
                }
                lines.append(
                    f"  {self.label(row['estimator']):<32}"
                    f"{format_mean_std(values['accuracy']):>15}  "
                    f"{format_mean_std(values['log_loss']):>15}  "
                    f"{format_mean_std(values['fit_time'], 2):>15}  "
                    f"{format_mean_std(values['predict_time'], 3):>15}"
                )
                if row["estimator"] == "snapshot":
                    final_acc = self._values(dataset, "snapshot", "final_snapshot_accuracy")
                    final_loss = self._values(dataset, "snapshot", "final_snapshot_log_loss")
                    lines.append(
                        f"  {'  its final snapshot':<32}{format_mean_std(final_acc):>15}  "
                        f"{format_mean_std(final_loss):>15}  (members disagree on "
                        f"{100 * row['disagreement_mean']:.1f} % of the rows)"
                    )
                    lines.append(self._last_k_line(dataset))
            dataset_gains = [g for g in gains if g["dataset"] == dataset]
            if dataset_gains:
                lines.append(
                    "  paired gain of the snapshot ensemble, over folds: mean ± std  won/tied/lost"
                )
                for gain in dataset_gains:
                    over = (
                        "its final snapshot"
                        if gain["over"] == "final_snapshot"
                        else self.label(gain["over"])
                    )
                    lines.append(
                        f"    over {over:<30} accuracy {format_gain(gain['accuracy'])}"
                        f"   log loss {format_gain(gain['log_loss'])}"
                    )
        lines += ["", f"Wall time {self.wall_time:.0f} s."]
        return "\n".join(lines)


def run_compare(
    datasets=None,
    estimators=None,
    *,
    n_splits=5,
    n_repeats=1,
    snapshot_params=None,
    random_state=0,
    quick=False,
    progress=None,
):
    """Cross-validate the snapshot ensemble and the other estimators on every dataset.

    Parameters
    ----------
    datasets : list of str, default=None
        Keys of ``COMPARE_DATASETS``; ``None`` means all.
    estimators : list of str, default=None
        Keys of ``COMPARE_ESTIMATORS``; ``None`` means all.
    n_splits : int, default=5
        Folds of the stratified K-fold.
    n_repeats : int, default=1
        Repetitions of the K-fold with different shuffles.
    snapshot_params : dict, default=None
        Parameters of the snapshot ensemble (``SnapshotEnsembleClassifier``'s defaults
        otherwise); see :func:`compare_estimators`.
    random_state : int, default=0
        Seed of the folds and of every estimator.
    quick : bool, default=False
        Smaller forests and boosting (for tests).
    progress : file-like or None, default=None
        Where to report live progress (e.g. ``sys.stderr``); ``None`` is silent.

    Returns
    -------
    result : CompareResult
    """
    datasets = list(COMPARE_DATASETS) if datasets is None else list(datasets)
    unknown = [name for name in datasets if name not in COMPARE_DATASETS]
    if unknown:
        raise ValueError(
            f"Unknown dataset(s) {unknown}; choose from {', '.join(COMPARE_DATASETS)}."
        )
    snapshot_params = dict(snapshot_params or {})
    defaults = SnapshotEnsembleClassifier(**snapshot_params).get_params()
    snapshot_params = {key: defaults[key] for key in _SHOWN_PARAMS} | snapshot_params
    models = compare_estimators(
        estimators, snapshot_params=snapshot_params, random_state=random_state, quick=quick
    )
    n_members = snapshot_params.get("n_cycles", 10)
    data = {name: load_dataset(name) for name in datasets}
    n_folds = n_splits * n_repeats
    # Cost of a fit grows with the training rows; a true ensemble costs M fits.
    cost = {
        name: {
            est: len(y) * _COST.get(est, 1.0) * (n_members if est == "true_ensemble" else 1)
            for est in models
        }
        for name, (_, y) in data.items()
    }
    cost_total = sum(sum(c.values()) for c in cost.values())
    tracker = Progress(cost_total, stream=progress, enabled=progress is not None)
    folds = []
    start = time.perf_counter()
    for d_index, (dataset, (X, y)) in enumerate(data.items(), start=1):
        cv = RepeatedStratifiedKFold(
            n_splits=n_splits, n_repeats=n_repeats, random_state=random_state
        )
        for e_index, (name, model) in enumerate(models.items(), start=1):
            where = (
                f"{dataset} ({d_index}/{len(data)}) · {estimator_label(name, n_members)} "
                f"({e_index}/{len(models)})"
            )
            count = [0]

            def scored(where=where, count=count, fold_cost=cost[dataset][name] / n_folds):
                count[0] += 1
                tracker.advance(fold_cost, f"{where} · fold {count[0]}/{n_folds} done")
                if count[0] < n_folds:
                    tracker.start(f"{where} · fold {count[0] + 1}/{n_folds}")

            tracker.start(f"{where} · fold 1/{n_folds}")
            with warnings.catch_warnings():
                # MLPClassifier at its default max_iter often stops before converging on
                # small data; that is how it is used, and its scores show it.
                warnings.simplefilter("ignore", ConvergenceWarning)
                cv_result = cross_validate(
                    model,
                    X,
                    y,
                    cv=cv,
                    scoring=_fold_scorer(scored),
                    return_estimator=name == "snapshot",
                    return_indices=True,
                    error_score="raise",
                )
            for fold in range(n_folds):
                row = {
                    "dataset": dataset,
                    "estimator": name,
                    "fold": fold,
                    "accuracy": float(cv_result["test_accuracy"][fold]),
                    "log_loss": float(cv_result["test_log_loss"][fold]),
                    "fit_time": float(cv_result["fit_time"][fold]),
                    "predict_time": float(cv_result["score_time"][fold]),
                }
                if name == "snapshot":
                    test = cv_result["indices"]["test"][fold]
                    scores = snapshot_scores(cv_result["estimator"][fold], X[test], y[test])
                    row["final_snapshot_accuracy"] = float(scores["member_accuracy"][-1])
                    row["final_snapshot_log_loss"] = float(scores["member_log_loss"][-1])
                    row["disagreement"] = scores["disagreement"]
                    # Lists (kept in the JSON, left out of the CSV): every snapshot,
                    # oldest first, and the ensemble of the last k at index k - 1.
                    row["member_accuracy"] = scores["member_accuracy"].tolist()
                    row["last_k_accuracy"] = scores["ensemble_accuracy"].tolist()
                    row["last_k_log_loss"] = scores["ensemble_log_loss"].tolist()
                folds.append(row)
    tracker.close()
    settings = {
        "datasets": datasets,
        "estimators": list(models),
        "n_splits": n_splits,
        "n_repeats": n_repeats,
        "random_state": random_state,
        "quick": quick,
        "snapshot_params": snapshot_params,
    }
    return CompareResult(settings, folds, time.perf_counter() - start)
