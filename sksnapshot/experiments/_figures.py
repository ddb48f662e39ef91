"""PNG figures of the experiments (matplotlib, drawn without pyplot: no GUI, no global state)."""

from pathlib import Path

import numpy as np

from .._inspection import top_label_ece
from ..plotting import EnsembleCurveDisplay, LearningRateDisplay
from ._report import mean_std

__all__ = ["compare_figures", "matplotlib_available", "reference_figures"]


def matplotlib_available():
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(width=7.0, height=4.5):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.subplots()


#: Equal-width confidence bins of the reliability diagrams (those of the top-label ECE).
_N_BINS = 15


def _reliability(curves, title):
    """A reliability diagram of the top label, and the confidences' histogram below it.

    ``curves`` is a list of ``(label, confidence, correct)``: the top-label confidence of
    every prediction and whether it was right (``top_label``). Binary reliability
    (``sklearn.calibration.calibration_curve``, 15 equal-width bins) of the event "the
    most probable class is right" against the top-label confidence: a multiclass
    problem's calibration seen through its top label only.
    """
    from matplotlib.figure import Figure
    from sklearn.calibration import calibration_curve

    figure = Figure(figsize=(6.5, 7.0), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    top.plot([0, 1], [0, 1], "k:", label="perfectly calibrated")
    edges = np.linspace(0.0, 1.0, _N_BINS + 1)
    for i, (label, confidence, correct) in enumerate(curves):
        correct = np.asarray(correct, dtype=int)
        accuracy, mean_confidence = calibration_curve(
            correct, confidence, n_bins=_N_BINS, pos_label=1
        )
        ece = top_label_ece(confidence, correct, n_bins=_N_BINS)
        top.plot(
            mean_confidence,
            accuracy,
            "o-",
            color=f"C{i}",
            label=f"{label} (top-label ECE {ece:.3f})",
        )
        bottom.hist(confidence, bins=edges, histtype="step", color=f"C{i}", linewidth=1.5)
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("fraction right (most probable class)")
    top.legend(loc="lower right", fontsize="small")
    top.set_title(title, fontsize="medium")
    bottom.set_xlabel(f"top-label confidence (largest probability), {_N_BINS} equal-width bins")
    bottom.set_ylabel("predictions")
    return figure


def reference_figures(result, out):
    """``learning_rate.png``, ``ensemble_curve.png``, ``reliability.png`` of a result."""
    out = Path(out)
    figure, ax = _figure()
    LearningRateDisplay.from_estimator(
        result.estimator, ax=ax, line_kw={"label": "snapshot ensemble"}
    )
    LearningRateDisplay.from_estimator(
        result.single_estimator,
        ax=ax,
        line_kw={"label": "single model, same budget", "color": "C7", "linestyle": ":"},
        snapshot_kw={"label": "its only snapshot", "color": "C7"},
    )
    ax.set_title(f"Learning rate of the reference experiment (seed {result.seeds[0]})")
    paths = [out / "learning_rate.png"]
    figure.savefig(paths[-1], dpi=100)

    figure, ax = _figure()
    single, _ = mean_std(result.single_accuracy)
    lines = {
        f"single model, same budget (mean of {len(result.seeds)})": float(single),
        "Bayes-optimal, these test rows": result.bayes_accuracy,
    }
    if result.defaults_accuracy is not None:
        defaults, _ = mean_std(result.defaults_accuracy)
        lines[f"estimator defaults, standardized (mean of {len(result.seeds)})"] = float(defaults)
    EnsembleCurveDisplay(
        result.member_accuracy,
        result.ensemble_accuracy,
        reference_lines=lines,
        one_network_scores=result.one_network_accuracy,
    ).plot(ax=ax)
    ax.set_title("Reference experiment: test accuracy of snapshots and ensembles")
    paths.append(out / "ensemble_curve.png")
    figure.savefig(paths[-1], dpi=100)

    if result.top_label:
        names = {
            "snapshot": "snapshot ensemble",
            "single": "single model, same budget",
            "defaults": "estimator defaults, standardized",
        }
        curves = [(names[key], *result.top_label[key]) for key in names if key in result.top_label]
        figure = _reliability(
            curves,
            "Reference experiment: reliability of the top label\n"
            f"test rows of all {len(result.seeds)} seeds pooled",
        )
        paths.append(out / "reliability.png")
        figure.savefig(paths[-1], dpi=100)
    return paths


def _limits(result, key):
    """The Bayes-optimal value of ``key`` per dataset, where it is known."""
    rows = result.bayes_summary()
    return {row["dataset"]: row[f"{key}_mean"] for row in rows if f"{key}_mean" in row}


def _draw_limit(ax, x, half_width, value, label):
    """A dashed segment at the Bayes-optimal ``value`` over a dataset's bars."""
    ax.hlines(value, x - half_width, x + half_width, colors="k", linestyles="--", label=label)


_LIMIT_LABEL = "Bayes-optimal (E[y|X] known)"


def _bars(result, key, ylabel, log=False, metric=None):
    """Grouped bars: one group per dataset, one bar per estimator, on one axis."""
    datasets, estimators = result.datasets, result.estimators
    figure, ax = _figure(width=max(8.0, 1.3 * len(datasets) + 2), height=5.5)
    width = 0.8 / len(estimators)
    x = np.arange(len(datasets))
    lows = []
    for i, name in enumerate(estimators):
        stats = [mean_std(result._finite(d, name, key)) for d in datasets]
        means = np.array([m for m, _ in stats])
        stds = np.array([s for _, s in stats])
        lows.extend(means - stds)
        ax.bar(
            x + (i - (len(estimators) - 1) / 2) * width,
            means,
            width,
            yerr=stds,
            capsize=2,
            label=result.label(name),
            color=f"C{i}",
        )
    limits = _limits(result, key)
    label = _LIMIT_LABEL
    for j, dataset in enumerate(datasets):
        if dataset in limits:
            _draw_limit(ax, x[j], 0.45, limits[dataset], label)
            label = None  # one legend entry
    ax.set_xticks(x, datasets, rotation=20 if len(datasets) > 2 else 0)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    elif metric is not None and metric.best is not None and np.isfinite(lows).any():
        # Scores bounded above (accuracy, R²): show the range where the bars differ
        # (estimators whose every fit failed have no bar).
        bottom = np.nanmin(lows) - 0.05
        if metric.worst is not None:
            bottom = max(metric.worst, bottom)
        ax.set_ylim(bottom, metric.best)
    figure.legend(loc="outside lower center", ncols=3, fontsize="small")
    ax.set_title(f"{ylabel}: mean ± std over cross-validation folds")
    return figure


def _panels(result, key, ylabel):
    """One panel per dataset, each with its own axis (for errors in the target's units)."""
    from matplotlib.figure import Figure

    datasets, estimators = result.datasets, result.estimators
    figure = Figure(figsize=(max(7.0, 3.5 * len(datasets) + 1), 5.5), layout="constrained")
    axes = figure.subplots(1, len(datasets), squeeze=False)[0]
    limits = _limits(result, key)
    label = _LIMIT_LABEL
    for j, (ax, dataset) in enumerate(zip(axes, datasets, strict=True)):
        for i, name in enumerate(estimators):
            mean, std = mean_std(result._finite(dataset, name, key))
            ax.bar(
                i,
                mean,
                0.8,
                yerr=std,
                capsize=3,
                color=f"C{i}",
                label=result.label(name) if j == 0 else None,
            )
        if dataset in limits:
            middle = (len(estimators) - 1) / 2
            _draw_limit(ax, middle, len(estimators) / 2, limits[dataset], label)
            label = None  # one legend entry
        ax.set_xticks([])
        ax.set_title(dataset)
    axes[0].set_ylabel(ylabel)
    figure.legend(loc="outside lower center", ncols=3, fontsize="small")
    figure.suptitle(f"{ylabel}: mean ± std over cross-validation folds")
    return figure


def compare_figures(result, out):
    """Bar charts (with error bars) of the metrics, fit time and predict time of a comparison.

    One ``compare_<key>.png`` per metric of the task (``accuracy`` and ``log_loss``, or
    ``r2`` and ``rmse``), then ``compare_fit_time.png`` and ``compare_predict_time.png``
    (log axes). A metric in the target's units (RMSE) gets one panel per dataset; where
    the Bayes-optimal prediction is known (``friedman1``) a dashed line marks its score.
    For classification, one ``compare_reliability_<dataset>.png`` per dataset: the
    reliability diagram of the top label (its out-of-fold predictions pooled over the
    folds) of the snapshot ensemble(s), the single network and the true ensemble that
    ran.
    """
    out = Path(out)
    paths = []
    for metric in result.metrics:
        if metric.per_dataset:
            figure = _panels(result, metric.key, metric.label)
        else:
            figure = _bars(result, metric.key, metric.label, metric=metric)
        paths.append(out / f"compare_{metric.key}.png")
        figure.savefig(paths[-1], dpi=100)
    for key, ylabel in (("fit_time", "fit time (s)"), ("predict_time", "predict time (s)")):
        figure = _bars(result, key, ylabel, log=True)
        paths.append(out / f"compare_{key}.png")
        figure.savefig(paths[-1], dpi=100)
    for dataset in result.datasets:
        pooled = result.top_label.get(dataset, {})
        curves = [(result.label(name), *pooled[name]) for name in _RELIABILITY if name in pooled]
        if curves:
            figure = _reliability(
                curves,
                f"{dataset}: reliability of the top label\n"
                "out-of-fold predictions of all folds pooled",
            )
            paths.append(out / f"compare_reliability_{dataset}.png")
            figure.savefig(paths[-1], dpi=100)
    return paths


#: The estimators of a comparison's reliability diagrams, when they ran.
_RELIABILITY = ("snapshot", "snapshot_one_network", "snapshot_networks", "single", "true_ensemble")
