"""Cross-validated comparison of the snapshot ensemble with other estimators.

Every estimator is evaluated with ``cross_validate`` on the same repeated K folds
(stratified for classification), so the comparison is paired fold by fold. The score of
a fold comes from one prediction call on its test rows: ``predict_proba`` for
classification (accuracy of the most probable class, log loss, Brier score and top-label
expected calibration error), ``predict`` for
regression (R² and RMSE); the predict time is that call's (``cross_validate``'s
``score_time``). What differs between the two tasks lives in :mod:`._tasks`.
"""

import re
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.model_selection import cross_validate

from ._datasets import COMPARE_DATASETS, load_dataset, task_datasets
from ._estimators import (
    SNAPSHOT_ESTIMATORS,
    SNAPSHOT_NETWORKS,
    compare_estimators,
    estimator_label,
)
from ._progress import Progress
from ._report import environment, format_gain, format_mean_std, mean_std, paired_gain
from ._tasks import TASKS

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
    "snapshot_weights": 1.0,
    "snapshot_auto": 0.9,
    "snapshot_one_network": 1.0,
    "snapshot_networks": 1.5,
    "single": 1.0,
    "mlp": 0.25,
    "logreg": 0.02,
    "ridge": 0.02,
    "random_forest": 0.1,
    "hist_gb": 0.2,
}

#: The snapshot ensembles whose table rows get their final snapshot's and last-k lines.
_DETAILED = ("snapshot", "snapshot_one_network", "snapshot_networks")

#: How the table explains the snapshot variants, when they ran.
_VARIANT_NOTES = {
    "snapshot_weights": "the same training as the snapshot ensemble, then the snapshots' "
    "weights averaged into one network (combine='weights'): one network's prediction cost",
    "snapshot_auto": "trained on 90 % of the training rows; the number of last snapshots it "
    "keeps is chosen by the loss on the other 10 % (n_members='auto')",
    "snapshot_one_network": "the snapshot ensemble with n_networks=1: one network, as in "
    "sksnapshot 0.1.0 (when the snapshot ensemble has several, its paired gain over this "
    "one is what the other networks add)",
    "snapshot_networks": f"the snapshot ensemble's training with n_networks={SNAPSHOT_NETWORKS}: "
    "that many independently initialised networks trained side by side on the same "
    "batches, every snapshot holding all of them (its members are the (snapshot, "
    "network) pairs)",
}


def _fold_scorer(task, on_scored, keep=None):
    """A ``cross_validate`` scorer: the task's metrics from one prediction call.

    ``keep`` (a list) receives what the calibration figures need of every scored fold
    (see ``CompareTask.score``).
    """

    def score(estimator, X, y):
        scores = task.score(estimator, X, y, keep=keep)
        on_scored()
        return scores

    return score


@dataclass
class CompareResult:
    """Everything measured by :func:`run_compare`.

    ``folds`` has one dict per dataset, estimator and fold (in the same fold order for
    every estimator); the rows of the snapshot ensembles (``SNAPSHOT_ESTIMATORS``) also
    hold their final snapshot's scores, the members' spread (``disagreement`` for
    classification, ``member_std`` for regression), the number of snapshots taken and
    used, and as lists every snapshot's and every last-k ensemble's scores.
    ``bayes_optimal`` has one dict per fold of the datasets whose Bayes-optimal
    prediction is known (``friedman1``): its scores on the same test rows. For
    classification, ``top_label`` pools the test folds' predictions of every estimator
    for the reliability diagrams (not written to the JSON).

    Parameters
    ----------
    settings : dict
        The settings of the run (task, datasets, estimators, folds, the snapshot
        ensemble's parameters...), as :func:`run_compare` received them.
    folds : list of dict
        One row per dataset, estimator and fold: its scores and times.
    wall_time : float
        Seconds the whole comparison took.
    bayes_optimal : list of dict, default=[]
        One row per fold of the datasets whose Bayes-optimal prediction is known.
    top_label : dict, default={}
        Classification: ``top_label[dataset][estimator]`` is ``(confidence, correct)``,
        two ndarrays of shape (n_predictions,): the top-label confidence of every test
        row of every fold whose fit succeeded (the out-of-fold predictions, pooled) and
        whether its most probable class is right (see
        :func:`~sksnapshot._inspection.top_label`). Empty for regression.
    """

    settings: dict
    folds: list
    wall_time: float
    bayes_optimal: list = field(default_factory=list)
    top_label: dict = field(default_factory=dict, repr=False)

    @property
    def task(self):
        """The :class:`~._tasks.CompareTask` of the comparison."""
        return TASKS[self.settings.get("task", "classification")]

    @property
    def metrics(self):
        """The metrics of every fold (:class:`~._tasks.Metric`)."""
        return self.task.metrics

    def _rows(self, dataset, estimator):
        """The fold rows of ``estimator`` on ``dataset``, in fold order."""
        return [
            row for row in self.folds if row["dataset"] == dataset and row["estimator"] == estimator
        ]

    def _failed_rows(self, dataset, estimator):
        """The fold rows whose fit raised an error."""
        return [row for row in self._rows(dataset, estimator) if row.get("fit_failed", False)]

    def _values(self, dataset, estimator, key):
        """``key`` of every fold, in fold order (NaN where the fit failed)."""
        rows = self._rows(dataset, estimator)
        return np.array([row.get(key, np.nan) for row in rows], dtype=np.float64)

    def _finite(self, dataset, estimator, key):
        """``key`` of the folds whose fit succeeded: what means and figures use."""
        values = self._values(dataset, estimator, key)
        return values[np.isfinite(values)]

    def _format(self, dataset, estimator, key, digits=3):
        values = self._finite(dataset, estimator, key)
        return format_mean_std(values, digits) if len(values) else "failed"

    def n_failed(self, dataset, estimator):
        """Folds whose fit raised an error (left out of means and paired gains).

        Parameters
        ----------
        dataset : str
            Name of the dataset.
        estimator : str
            Name of the estimator.

        Returns
        -------
        n_failed : int
            Number of folds of ``estimator`` on ``dataset`` whose fit raised.
        """
        return len(self._failed_rows(dataset, estimator))

    @property
    def datasets(self):
        """Datasets in the order they ran."""
        return list(dict.fromkeys(row["dataset"] for row in self.folds))

    @property
    def estimators(self):
        """Estimators in the order they ran."""
        return list(dict.fromkeys(row["estimator"] for row in self.folds))

    @property
    def n_cycles(self):
        """Cycles (snapshots) of the snapshot ensembles."""
        return self.settings["snapshot_params"]["n_cycles"]

    def label(self, name):
        """How tables and figures name the estimator ``name``.

        Parameters
        ----------
        name : str
            Name of the estimator in the run (``"snapshot"``, ``"single"``...).

        Returns
        -------
        label : str
            The name shown in tables and figures (see :func:`estimator_label`).
        """
        return estimator_label(name, self.n_cycles, self.task.name)

    def _snapshot_keys(self, dataset, estimator):
        """The scalar per-snapshot columns of ``estimator``'s folds on ``dataset``."""
        rows = self._rows(dataset, estimator)
        several = _network_scalars(self.task)
        return _snapshot_scalars(self.task) + [
            key for key in several if any(key in row for row in rows)
        ]

    def _several_networks(self, dataset, estimator):
        """Whether a fold of ``estimator`` was fitted with several networks per snapshot.

        Decided by the fitted estimators (``snapshot_networks_.shape[1] > 1``, recorded
        as ``n_networks``), not by the name: ``snapshot_networks``, and ``snapshot``
        too when its ``n_networks`` gave several.
        """
        return bool(np.any(self._finite(dataset, estimator, "n_networks") > 1))

    def has_one_network(self, dataset, estimator):
        """Whether the folds of ``estimator`` hold one network's last-k ensembles.

        True for a snapshot ensemble fitted with several networks that averages its
        members' outputs (``snapshot_networks``, or any snapshot ensemble whose
        ``n_networks`` gave several: decided by the fitted estimators, not by the name):
        its folds then also score every network's own ensemble of its last k snapshots
        (see :meth:`last_k`).

        Parameters
        ----------
        dataset : str
            Name of the dataset.
        estimator : str
            Name of the estimator.

        Returns
        -------
        has_one_network : bool
        """
        key = f"one_network_last_k_{self.metrics[0].key}"
        return any(key in row for row in self._rows(dataset, estimator))

    def summary(self):
        """One row per dataset and estimator: mean and std of every measure over folds.

        Returns
        -------
        rows : list of dict
            ``dataset``, ``estimator``, ``<measure>_mean`` and ``<measure>_std`` of every
            metric and time (over the folds whose fit succeeded), ``n_folds`` and
            ``n_failed``.
        """
        rows = []
        for dataset in self.datasets:
            for estimator in self.estimators:
                row = {"dataset": dataset, "estimator": estimator}
                keys = [m.key for m in self.metrics] + ["fit_time", "predict_time"]
                if estimator in SNAPSHOT_ESTIMATORS:
                    keys += self._snapshot_keys(dataset, estimator)
                for key in keys:
                    values = self._finite(dataset, estimator, key)
                    stats = mean_std(values) if len(values) else (np.nan, np.nan)
                    row[f"{key}_mean"], row[f"{key}_std"] = map(float, stats)
                row["n_folds"] = len(self._values(dataset, estimator, "fit_time"))
                row["n_failed"] = self.n_failed(dataset, estimator)
                rows.append(row)
        return rows

    def bayes_summary(self):
        """Mean and std over folds of the Bayes-optimal prediction's scores, per dataset.

        Returns
        -------
        rows : list of dict
            ``dataset`` and ``<metric>_mean``, ``<metric>_std`` of every metric; empty
            when no dataset has a known Bayes-optimal prediction.
        """
        rows = []
        for dataset in dict.fromkeys(row["dataset"] for row in self.bayes_optimal):
            folds = [row for row in self.bayes_optimal if row["dataset"] == dataset]
            row = {"dataset": dataset}
            for metric in self.metrics:
                mean, std = mean_std([fold[metric.key] for fold in folds])
                row[f"{metric.key}_mean"], row[f"{metric.key}_std"] = float(mean), float(std)
            rows.append(row)
        return rows

    def _gain_pairs(self):
        """``(ours, over)`` pairs of the paired gains, in report order."""
        present = self.estimators
        pairs = []
        for ours in (name for name in SNAPSHOT_ESTIMATORS if name in present):
            if ours == "snapshot":
                others = [name for name in present if name != ours]
            elif ours == "snapshot_networks":
                rivals = ("single", "true_ensemble", "snapshot", "snapshot_one_network")
                others = [name for name in rivals if name in present]
            else:
                others = [name for name in ("single",) if name in present]
            pairs += [(ours, other) for other in [*others, "final_snapshot"]]
        return pairs

    def gains(self):
        """Paired gains of the snapshot ensembles, per dataset.

        The snapshot ensemble (``of="snapshot"``) over every other estimator and over its
        final snapshot; each variant (``snapshot_weights``, ``snapshot_auto``) over the
        single network and over its own final snapshot, and so does the snapshot
        ensemble of one network (``snapshot_one_network``: the snapshot ensemble's gain
        over it is what its networks add, when it has several); the snapshot ensemble of
        ``SNAPSHOT_NETWORKS`` networks (``snapshot_networks``) over the single network,
        the true ensemble, the snapshot ensemble, the snapshot ensemble of one network
        and its own final snapshot (the mean of its networks' scores there). Gains are
        ``ours - theirs`` per fold, over the folds where both fits succeeded; for losses
        and errors a negative gain is better (see ``paired_gain``).

        Returns
        -------
        rows : list of dict
            ``dataset``, ``of``, ``over`` and the paired gain of every metric.
        """
        rows = []
        for dataset in self.datasets:
            for ours, other in self._gain_pairs():
                row = {"dataset": dataset, "of": ours, "over": other}
                for metric in self.metrics:
                    theirs = (
                        self._values(dataset, ours, f"final_snapshot_{metric.key}")
                        if other == "final_snapshot"
                        else self._values(dataset, other, metric.key)
                    )
                    mine = self._values(dataset, ours, metric.key)
                    both = np.isfinite(mine) & np.isfinite(theirs)
                    row[metric.key] = paired_gain(
                        mine[both], theirs[both], higher_is_better=metric.higher_is_better
                    )
                rows.append(row)
        return rows

    def to_dict(self):
        """All results as plain data (for JSON).

        Returns
        -------
        data : dict
            Settings, wall time, environment, summaries, paired gains and the fold rows.
        """
        return {
            "experiment": "compare",
            "settings": self.settings,
            "wall_time_s": self.wall_time,
            "environment": environment(),
            "summary": self.summary(),
            "bayes_optimal": self.bayes_summary(),
            "paired_gains": self.gains(),
            "folds": self.folds,
            "bayes_optimal_folds": self.bayes_optimal,
        }

    def last_k(self, dataset, estimator="snapshot", *, one_network=False):
        """Mean over folds of the ensemble of the last k snapshots, k = 1..M.

        A fold whose training stopped early (fewer snapshots) counts for the k it
        reached only.

        Parameters
        ----------
        dataset : str
            Name of the dataset.
        estimator : str, default="snapshot"
            Name of a snapshot ensemble of the run.
        one_network : bool, default=False
            For a snapshot ensemble of several networks (see :meth:`has_one_network`):
            the ensemble of the last k snapshots of one network (its score averaged
            over the networks) instead of all the networks'.

        Returns
        -------
        last_k : dict of ndarray
            For every metric key, the mean over folds of the last-k ensemble's score,
            for k = 1..M.
        """
        prefix = "one_network_last_k" if one_network else "last_k"
        rows = [
            row
            for row in self._rows(dataset, estimator)
            if f"{prefix}_{self.metrics[0].key}" in row
        ]
        if not rows:
            raise ValueError(f"{estimator} has no {prefix.replace('_', ' ')} scores on {dataset}.")
        longest = max(len(row[f"{prefix}_{self.metrics[0].key}"]) for row in rows)

        def padded(values):
            return np.pad(
                np.asarray(values, float),
                (0, longest - len(values)),
                "constant",
                constant_values=np.nan,
            )

        return {
            m.key: np.nanmean([padded(row[f"{prefix}_{m.key}"]) for row in rows], axis=0)
            for m in self.metrics
        }

    def _label_width(self):
        """Width of the table's first column."""
        return max(32, *(len(self.label(name)) + 2 for name in self.estimators))

    def _last_k_line(self, dataset, estimator, one_network=False):
        last_k = self.last_k(dataset, estimator, one_network=one_network)
        parts = []
        for metric in self.metrics:
            values = last_k[metric.key]
            best = int(np.argmax(values) if metric.higher_is_better else np.argmin(values))
            parts.append(f"by {metric.label} {best + 1} ({values[best]:.3f})")
        what = "  one network's last k" if one_network else "  ensembles of its last k"
        return (
            f"  {what:<{self._label_width()}}best k {', '.join(parts)}; "
            "chosen on the test folds, so optimistic"
        )

    def _snapshot_lines(self, dataset, estimator, row):
        """The lines under a snapshot ensemble's row of the table."""
        lines = []
        task = self.task
        width = self._label_width()
        if estimator in _DETAILED:
            finals = "  ".join(
                f"{self._format(dataset, estimator, key):>15}"
                for key in (f"final_snapshot_{m.key}" for m in self.metrics)
            )
            spread = task.format_spread(row[f"{task.spread_key}_mean"])
            what = "  its final snapshot"
            if self._several_networks(dataset, estimator):
                what += ", one network"
                spread = f"mean over its networks; {spread}"
            lines.append(f"  {what:<{width}}{finals}  ({spread})")
            if self.has_one_network(dataset, estimator):
                ones = "  ".join(
                    f"{self._format(dataset, estimator, f'one_network_{m.key}'):>15}"
                    for m in self.metrics
                )
                what = "  its snapshots, one network"
                lines.append(
                    f"  {what:<{width}}{ones}  (one network's ensemble of all its snapshots, "
                    "mean over its networks)"
                )
            lines.append(self._last_k_line(dataset, estimator))
            if self.has_one_network(dataset, estimator):
                lines.append(self._last_k_line(dataset, estimator, one_network=True))
        if estimator == "snapshot_auto":
            kept = self._finite(dataset, estimator, "n_members").astype(int)
            lines.append(
                f"  {'  snapshots kept (n_members_)':<{width}}{kept.mean():.1f} of "
                f"{self.n_cycles} on average (from {kept.min()} to {kept.max()})"
            )
        taken = self._finite(dataset, estimator, "n_snapshots").astype(int)
        stopped = int(np.sum(taken < self.n_cycles))
        if stopped:
            lines.append(
                f"  {'  training stopped early':<{width}}in {stopped} of {row['n_folds']} "
                f"folds (non-finite loss; {taken.min()} to {taken.max()} snapshots kept)"
            )
        return lines

    def _failure_line(self, dataset, estimator, row):
        errors = [fold.get("fit_error", "") for fold in self._failed_rows(dataset, estimator)]
        error = next((e for e in errors if e), "")
        return (
            f"  {'  fit failed':<{self._label_width()}}in {row['n_failed']} of "
            f"{row['n_folds']} folds, left out of its means and gains"
            + (f": {error}" if error else "")
        )

    def format_table(self):
        """The report printed by ``sksnapshot compare``.

        Returns
        -------
        table : str
            The report, one line per row.
        """
        s = self.settings
        task = self.task
        metrics = self.metrics
        present = self.estimators
        lines = [
            f"Cross-validated comparison ({task.name}): {s['n_splits']}-fold "
            f"{task.cv_words}CV repeated {s['n_repeats']} times (the same folds for every "
            "estimator); mean ± std over folds.",
            f"Snapshot ensemble: {s['snapshot_params']}, {task.setup}.",
        ]
        if "single" in present:
            lines.append(
                f"{self.label('single')}: the same parameters with n_cycles=1, "
                "n_networks=1 and all its snapshots (n_members=None): one network, one "
                "cosine decay over all epochs."
            )
        if "true_ensemble" in present:
            lines.append(
                f"{self.label('true_ensemble')}: {self.n_cycles} such single networks with "
                "different seeds, averaged."
            )
        for name, note in _VARIANT_NOTES.items():
            if name in present:
                lines.append(f"{self.label(name)}: {note}.")
        summary = self.summary()
        gains = self.gains()
        bayes = {row["dataset"]: row for row in self.bayes_summary()}
        width = self._label_width()
        header = (
            f"  {'estimator':<{width}}"
            + "".join(f"{m.label:>15}  " for m in metrics)
            + f"{'fit time (s)':>15}  {'predict (s)':>15}"
        )
        for dataset in self.datasets:
            description = COMPARE_DATASETS[dataset].description
            lines += ["", f"{dataset}: {description}", header]
            for row in (r for r in summary if r["dataset"] == dataset):
                estimator = row["estimator"]
                scores = "".join(
                    f"{self._format(dataset, estimator, m.key):>15}  " for m in metrics
                )
                lines.append(
                    f"  {self.label(estimator):<{width}}{scores}"
                    f"{self._format(dataset, estimator, 'fit_time', 2):>15}  "
                    f"{self._format(dataset, estimator, 'predict_time', 3):>15}"
                )
                if row["n_failed"]:
                    lines.append(self._failure_line(dataset, estimator, row))
                if estimator in SNAPSHOT_ESTIMATORS and row["n_failed"] < row["n_folds"]:
                    lines += self._snapshot_lines(dataset, estimator, row)
            if dataset in bayes:
                limit = "".join(
                    f"{bayes[dataset][f'{m.key}_mean']:>7.3f} ± "
                    f"{bayes[dataset][f'{m.key}_std']:.3f}  "
                    for m in metrics
                )
                lines.append(f"  {'Bayes-optimal (E[y|X] known)':<{width}}{limit}".rstrip())
            dataset_gains = [g for g in gains if g["dataset"] == dataset]
            worse = [m.label for m in metrics if not m.higher_is_better]
            for ours in dict.fromkeys(g["of"] for g in dataset_gains):
                lines.append(
                    f"  paired gain of the {self.label(ours)}, over folds: mean ± std  "
                    f"won/tied/lost ({_words(worse)}: negative is better)"
                )
                for gain in (g for g in dataset_gains if g["of"] == ours):
                    over = (
                        "its final snapshot"
                        if gain["over"] == "final_snapshot"
                        else self.label(gain["over"])
                    )
                    lines += _gain_lines(f"    over {over:<{width}} ", gain, metrics)
        lines += ["", f"Wall time {self.wall_time:.0f} s."]
        return "\n".join(lines)


def _words(labels):
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    return " and ".join([", ".join(labels[:-1]), labels[-1]] if len(labels) > 2 else labels)


def _gain_lines(start, gain, metrics, per_line=2):
    """The paired gains of every metric, ``per_line`` metrics a line, aligned in columns.

    The first line starts with ``start``; the others are indented as far.
    """
    width = max(len(m.label) for m in metrics) if len(metrics) > per_line else 0
    cells = [f"{m.label:<{width}} {_gain_text(gain[m.key]):<24}" for m in metrics]
    return [
        (start if i == 0 else " " * len(start)) + "   ".join(cells[i : i + per_line]).rstrip()
        for i in range(0, len(cells), per_line)
    ]


def _gain_text(gain):
    if gain["won"] + gain["tied"] + gain["lost"] == 0:
        return "no fold where both fitted"
    return format_gain(gain)


def _check_names(task, datasets, estimators):
    """The datasets of the comparison; clear errors for unknown or wrong-task names."""
    datasets = task_datasets(task) if datasets is None else list(datasets)
    unknown = [name for name in datasets if name not in COMPARE_DATASETS]
    if unknown:
        raise ValueError(
            f"Unknown dataset(s) {unknown}; choose from {', '.join(COMPARE_DATASETS)}."
        )
    other = [name for name in datasets if COMPARE_DATASETS[name].task != task]
    if other:
        raise ValueError(
            f"Dataset(s) {other} are not {task} datasets; the {task} datasets are "
            f"{', '.join(task_datasets(task))}."
        )
    return datasets


def run_compare(
    datasets=None,
    estimators=None,
    *,
    task="classification",
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
        Keys of ``COMPARE_DATASETS`` of the task; ``None`` means all of the task's.
    estimators : list of str, default=None
        Keys of ``COMPARE_ESTIMATORS[task]``; ``None`` means ``DEFAULT_ESTIMATORS[task]``.
    task : {"classification", "regression"}, default="classification"
        Classification: ``SnapshotEnsembleClassifier`` against classifiers, stratified
        folds, accuracy, log loss, Brier score and top-label ECE. Regression:
        ``SnapshotEnsembleRegressor`` against regressors, plain K-fold, R² and RMSE.
    n_splits : int, default=5
        Folds of the K-fold.
    n_repeats : int, default=1
        Repetitions of the K-fold with different shuffles.
    snapshot_params : dict, default=None
        Parameters of the snapshot ensemble (the estimator's defaults otherwise); see
        :func:`compare_estimators`.
    random_state : int, default=0
        Seed of the folds and of every estimator.
    quick : bool, default=False
        Smaller forests and boosting (for tests).
    progress : file-like or None, default=None
        Where to report live progress (e.g. ``sys.stderr``); ``None`` is silent.

    Returns
    -------
    result : CompareResult

    Examples
    --------
    >>> from sksnapshot.experiments import run_compare
    >>> result = run_compare(["diabetes"], ["snapshot", "ridge"], task="regression",
    ...                      n_splits=2, snapshot_params={"n_cycles": 2, "epochs": 4})
    >>> [row["estimator"] for row in result.summary()]
    ['snapshot', 'ridge']
    """
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; choose from {', '.join(TASKS)}.")
    spec = TASKS[task]
    datasets = _check_names(task, datasets, estimators)
    snapshot_params = dict(snapshot_params or {})
    defaults = spec.snapshot_class(**snapshot_params).get_params()
    snapshot_params = {key: defaults[key] for key in _SHOWN_PARAMS} | snapshot_params
    models = compare_estimators(
        estimators,
        task=task,
        snapshot_params=snapshot_params,
        random_state=random_state,
        quick=quick,
    )
    n_members = snapshot_params["n_cycles"]
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
    folds, bayes_optimal, pooled = [], [], {}
    start = time.perf_counter()
    if any(name in _NETWORKS for name in models):
        _warm_up(task, spec, *next(iter(data.values())))
    for d_index, (dataset, (X, y)) in enumerate(data.items(), start=1):
        cv = spec.splitter(n_splits, n_repeats, random_state)
        for e_index, (name, model) in enumerate(models.items(), start=1):
            where = (
                f"{dataset} ({d_index}/{len(data)}) · "
                f"{estimator_label(name, n_members, task)} ({e_index}/{len(models)})"
            )
            count = [0]

            def scored(where=where, count=count, fold_cost=cost[dataset][name] / n_folds):
                count[0] += 1
                tracker.advance(fold_cost, f"{where} · fold {count[0]}/{n_folds} done")
                if count[0] < n_folds:
                    tracker.start(f"{where} · fold {count[0] + 1}/{n_folds}")

            tracker.start(f"{where} · fold 1/{n_folds}")
            kept = []
            cv_result, error = _cross_validate(
                model, X, y, cv, _fold_scorer(spec, scored, kept), name in SNAPSHOT_ESTIMATORS
            )
            if kept:
                pooled.setdefault(dataset, {})[name] = tuple(
                    np.concatenate(part) for part in zip(*kept, strict=True)
                )
            tests = [test for _, test in cv.split(X, y)]  # the folds cross_validate used
            if count[0] < n_folds:
                failed = n_folds - count[0]
                tracker.advance(
                    cost[dataset][name] * failed / n_folds, f"{where} · {failed} fit(s) failed"
                )
            for fold in range(n_folds):
                row = {"dataset": dataset, "estimator": name, "fold": fold}
                scores = {
                    key: np.nan if cv_result is None else float(cv_result[f"test_{key}"][fold])
                    for key in (m.key for m in spec.metrics)
                }
                failed = not all(np.isfinite(list(scores.values())))
                row |= scores
                row["fit_time"] = np.nan if failed else float(cv_result["fit_time"][fold])
                row["predict_time"] = np.nan if failed else float(cv_result["score_time"][fold])
                row["fit_failed"] = failed
                row["fit_error"] = error if failed else ""
                if name in SNAPSHOT_ESTIMATORS:
                    if failed:
                        row |= dict.fromkeys(_snapshot_scalars(spec), np.nan)
                    else:
                        test = tests[fold]
                        estimator = cv_result["estimator"][fold]
                        row |= _snapshot_row(spec, estimator, X[test], y[test])
                folds.append(row)
            _fill_failed_networks(spec, folds[-n_folds:])
            bayes = COMPARE_DATASETS[dataset].bayes_prediction
            if e_index == 1 and bayes is not None:
                for fold, test in enumerate(tests):
                    scores = spec.prediction_scores(y[test], bayes(X[test]))
                    bayes_optimal.append({"dataset": dataset, "fold": fold, **scores})
    tracker.close()
    settings = {
        "task": task,
        "datasets": datasets,
        "estimators": list(models),
        "n_splits": n_splits,
        "n_repeats": n_repeats,
        "random_state": random_state,
        "quick": quick,
        "snapshot_params": snapshot_params,
    }
    return CompareResult(settings, folds, time.perf_counter() - start, bayes_optimal, pooled)


def _cross_validate(model, X, y, cv, scorer, keep_estimators):
    """``cross_validate`` that records failed fits instead of ending the comparison.

    A network can fail to train (e.g. ``FloatingPointError`` when the loss becomes NaN
    before its first snapshot); its folds score NaN and are left out of the means and
    gains, and the table says so. Returns the ``cross_validate`` result (``None`` when
    every fit failed) and the error of the failed fits as one line ("" when none).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitFailedWarning)
        # MLPClassifier/MLPRegressor at their default max_iter often stop before
        # converging on small data; that is how they are used, and their scores show it.
        # A snapshot ensemble whose training stops early on a non-finite loss warns
        # too: its folds record the snapshots it kept.
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            result = cross_validate(
                model,
                X,
                y,
                cv=cv,
                scoring=scorer,
                return_estimator=keep_estimators,
                error_score=np.nan,
            )
        except ValueError as exc:
            if "fits failed" not in str(exc):
                raise
            return None, _fit_errors(str(exc))
    for warning in caught:
        if not issubclass(warning.category, FitFailedWarning):
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    failures = [str(w.message) for w in caught if issubclass(w.category, FitFailedWarning)]
    return result, _fit_errors("\n".join(failures))


def _fit_errors(report):
    """The exception lines (``Type: message``) of scikit-learn's fit-failure report."""
    errors = re.findall(r"^(\w+(?:Error|Exception|Interrupt): .*)$", report, re.MULTILINE)
    return "; ".join(dict.fromkeys(errors))


#: The estimators that train Keras networks.
_NETWORKS = (*SNAPSHOT_ESTIMATORS, "single", "true_ensemble")


def _warm_up(task, spec, X, y):
    """One tiny untimed fit and prediction of a network.

    TensorFlow's one-time start-up (thread pools, first graph builds) costs about a
    second; without this, it would be charged to the first fold of the first network.
    """
    params = {"hidden_layer_sizes": (4,), "n_cycles": 1, "epochs": 1}
    model = compare_estimators(["single"], task=task, snapshot_params=params)["single"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.score(model.fit(X, y), X, y)


def _snapshot_scalars(task):
    """The scalar per-snapshot columns of a snapshot ensemble's fold row."""
    return [f"final_snapshot_{m.key}" for m in task.metrics] + [
        task.spread_key,
        "n_snapshots",
        "n_members",
    ]


def _network_scalars(task):
    """The scalar columns of the fold row of a snapshot ensemble of several networks."""
    return ["n_networks"] + [f"one_network_{m.key}" for m in task.metrics]


def _fill_failed_networks(task, rows):
    """NaN network columns in the failed folds of an estimator fitted with several networks.

    Whether it has several comes from its fitted folds (``_snapshot_row``), not from its
    name; when every fold failed nothing says so and the columns stay out.
    """
    keys = [key for key in _network_scalars(task) if any(key in row for row in rows)]
    for row in rows:
        if row["fit_failed"]:
            row |= dict.fromkeys(keys, np.nan)


def _snapshot_row(task, estimator, X, y):
    """The per-snapshot columns of a snapshot ensemble's fold row."""
    scores = task.snapshot_scores(estimator, X, y)
    row = {}
    for key, values in scores["member"].items():
        row[f"final_snapshot_{key}"] = float(values[-1])
    row[task.spread_key] = float(scores["spread"])
    row["n_snapshots"] = int(scores["n_snapshots"])
    row["n_members"] = int(scores["n_members"])
    if scores["n_networks"] > 1:
        row["n_networks"] = int(scores["n_networks"])
        # One network's ensemble of the snapshots the estimator predicts with.
        for key, values in scores.get("one_network", {}).items():
            row[f"one_network_{key}"] = float(values[row["n_members"] - 1])
    # Lists (kept in the JSON, left out of the CSV): every snapshot, oldest first (with
    # several networks, the mean over its networks), and the ensemble of the last k at
    # index k - 1; with several networks also every member (a list per snapshot, None
    # for a network that had diverged) and one network's ensemble of its last k.
    for key, values in scores["member"].items():
        row[f"member_{key}"] = values.tolist()
    for key, values in scores["last_k"].items():
        row[f"last_k_{key}"] = values.tolist()
    for key, values in scores.get("network_member", {}).items():
        row[f"network_member_{key}"] = [
            [float(v) if np.isfinite(v) else None for v in snapshot] for snapshot in values
        ]
    for key, values in scores.get("one_network", {}).items():
        row[f"one_network_last_k_{key}"] = values.tolist()
    return row
