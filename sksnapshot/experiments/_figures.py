"""PNG figures of the experiments (matplotlib, drawn without pyplot: no GUI, no global state)."""

from pathlib import Path

import numpy as np

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


def reference_figures(result, out):
    """``learning_rate.png`` and ``ensemble_curve.png`` of a :class:`ReferenceResult`."""
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
    EnsembleCurveDisplay(
        result.member_accuracy,
        result.ensemble_accuracy,
        reference_lines={
            f"single model, same budget (mean of {len(result.seeds)})": float(single),
            "Bayes-optimal, these test rows": result.bayes_accuracy,
        },
    ).plot(ax=ax)
    ax.set_title("Reference experiment: test accuracy of snapshots and ensembles")
    paths.append(out / "ensemble_curve.png")
    figure.savefig(paths[-1], dpi=100)
    return paths


def _bars(result, key, ylabel, log=False):
    datasets, estimators = result.datasets, result.estimators
    figure, ax = _figure(width=max(8.0, 1.3 * len(datasets) + 2), height=5.5)
    width = 0.8 / len(estimators)
    x = np.arange(len(datasets))
    for i, name in enumerate(estimators):
        stats = [mean_std(result._values(d, name, key)) for d in datasets]
        means = np.array([m for m, _ in stats])
        stds = np.array([s for _, s in stats])
        ax.bar(
            x + (i - (len(estimators) - 1) / 2) * width,
            means,
            width,
            yerr=stds,
            capsize=2,
            label=result.label(name),
            color=f"C{i}",
        )
    ax.set_xticks(x, datasets, rotation=20)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    elif key == "accuracy":
        low = min(np.min(result._values(d, e, key)) for d in datasets for e in estimators)
        ax.set_ylim(max(0.0, low - 0.05), 1.0)
    figure.legend(loc="outside lower center", ncols=3, fontsize="small")
    ax.set_title(f"{ylabel}: mean ± std over cross-validation folds")
    return figure


def compare_figures(result, out):
    """Bar charts (with error bars) of accuracy, log loss and fit time of a comparison."""
    out = Path(out)
    paths = []
    for key, ylabel, log in (
        ("accuracy", "accuracy", False),
        ("log_loss", "log loss", False),
        ("fit_time", "fit time (s)", True),
    ):
        figure = _bars(result, key, ylabel, log=log)
        paths.append(out / f"compare_{key}.png")
        figure.savefig(paths[-1], dpi=100)
    return paths
