"""Result files of the experiments: a text table, CSV, JSON and PNG figures in one folder."""

from pathlib import Path

from ._figures import compare_figures, matplotlib_available, reference_figures
from ._report import write_csv, write_json

__all__ = ["save_compare", "save_reference"]

_NO_MATPLOTLIB = "matplotlib is not installed: figures skipped (pip install 'sksnapshot[plot]')."


def _save(result, out, name, tables, figures):
    """Write ``<name>.txt`` (the printed table), the CSV ``tables``, ``<name>.json``, figures.

    ``tables`` is a list of ``(file name, rows)``; a table without rows is not written.
    ``figures(result, out)`` draws the PNG files (skipped without matplotlib).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.txt").write_text(result.format_table() + "\n")
    paths = [out / f"{name}.txt"]
    paths += [write_csv(out / file, rows) for file, rows in tables if rows]
    paths.append(write_json(out / f"{name}.json", result.to_dict()))
    if not matplotlib_available():
        return paths, [_NO_MATPLOTLIB]
    return paths + figures(result, out), []


def save_reference(result, out):
    """Write a :class:`ReferenceResult` into the folder ``out`` (created if needed).

    Files: ``reference.txt`` (the printed table), ``reference.csv`` (one row per k),
    ``reference_seeds.csv`` (one row per seed), ``reference.json`` (everything),
    ``learning_rate.png``, ``ensemble_curve.png`` and ``reliability.png`` (the
    reliability diagram of the top label of the snapshot ensemble, the single model and,
    when they ran, the estimator's defaults; test rows of all seeds pooled) when
    matplotlib is installed.

    Parameters
    ----------
    result : ReferenceResult
        The result to write.
    out : str or path-like
        The folder the files go to.

    Returns
    -------
    paths : list of Path
        The files written.
    notes : list of str
        What was skipped, and why.
    """
    tables = [("reference.csv", result.per_k()), ("reference_seeds.csv", result.per_seed())]
    return _save(result, out, "reference", tables, reference_figures)


def save_compare(result, out):
    """Write a :class:`CompareResult` into the folder ``out`` (created if needed).

    Files: ``compare.txt`` (the printed table), ``compare.csv`` (one row per dataset and
    estimator), ``compare_folds.csv`` (one row per fold), ``compare_gains.csv`` (paired
    gains of the snapshot ensembles), ``compare.json`` (everything) and, when matplotlib
    is installed, one bar chart per metric (``compare_accuracy.png``,
    ``compare_log_loss.png``, ``compare_brier.png`` and ``compare_ece.png``, or
    ``compare_r2.png`` and ``compare_rmse.png``), ``compare_fit_time.png``,
    ``compare_predict_time.png`` and, for classification, one reliability diagram per
    dataset (``compare_reliability_<dataset>.png``).

    Parameters
    ----------
    result : CompareResult
        The result to write.
    out : str or path-like
        The folder the files go to.

    Returns
    -------
    paths : list of Path
        The files written.
    notes : list of str
        What was skipped, and why.
    """
    tables = [
        ("compare.csv", result.summary()),
        ("compare_folds.csv", _flat_folds(result.folds)),
        ("compare_gains.csv", _flat_gains(result)),
    ]
    return _save(result, out, "compare", tables, compare_figures)


def _flat_gains(result):
    """Paired-gain rows for CSV: one column per metric and statistic."""
    return [
        {
            "dataset": g["dataset"],
            "of": g["of"],
            "over": g["over"],
            **{
                f"{m.key}_{stat}": value for m in result.metrics for stat, value in g[m.key].items()
            },
        }
        for g in result.gains()
    ]


def _flat_folds(folds):
    """Fold rows for CSV: the scalar columns (lists stay in the JSON)."""
    keys = [
        key
        for key in dict.fromkeys(key for row in folds for key in row)
        if not any(isinstance(row.get(key), list) for row in folds)
    ]
    return [{key: row.get(key, "") for key in keys} for row in folds]
