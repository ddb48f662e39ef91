"""Result files of the experiments: a text table, CSV, JSON and PNG figures in one folder."""

from pathlib import Path

from ._figures import compare_figures, matplotlib_available, reference_figures
from ._report import write_csv, write_json

__all__ = ["save_compare", "save_reference"]

_NO_MATPLOTLIB = "matplotlib is not installed: figures skipped (pip install 'sksnapshot[plot]')."


def _folder(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def save_reference(result, out):
    """Write a :class:`ReferenceResult` into the folder ``out`` (created if needed).

    Files: ``reference.txt`` (the printed table), ``reference.csv`` (one row per k),
    ``reference_seeds.csv`` (one row per seed), ``reference.json`` (everything),
    ``learning_rate.png`` and ``ensemble_curve.png`` (when matplotlib is installed).

    Returns
    -------
    paths : list of Path
        The files written.
    notes : list of str
        What was skipped, and why.
    """
    out = _folder(out)
    (out / "reference.txt").write_text(result.format_table() + "\n")
    paths = [
        out / "reference.txt",
        write_csv(out / "reference.csv", result.per_k()),
        write_csv(out / "reference_seeds.csv", result.per_seed()),
        write_json(out / "reference.json", result.to_dict()),
    ]
    if not matplotlib_available():
        return paths, [_NO_MATPLOTLIB]
    return paths + reference_figures(result, out), []


def save_compare(result, out):
    """Write a :class:`CompareResult` into the folder ``out`` (created if needed).

    Files: ``compare.txt`` (the printed table), ``compare.csv`` (one row per dataset and
    estimator), ``compare_folds.csv`` (one row per fold), ``compare_gains.csv`` (paired
    gains of the snapshot ensemble), ``compare.json`` (everything) and, when matplotlib
    is installed, ``compare_accuracy.png``, ``compare_log_loss.png``,
    ``compare_fit_time.png``.

    Returns
    -------
    paths : list of Path
        The files written.
    notes : list of str
        What was skipped, and why.
    """
    out = _folder(out)
    (out / "compare.txt").write_text(result.format_table() + "\n")
    paths = [
        out / "compare.txt",
        write_csv(out / "compare.csv", result.summary()),
        write_csv(out / "compare_folds.csv", _flat_folds(result.folds)),
    ]
    gains = [
        {
            "dataset": g["dataset"],
            "over": g["over"],
            **{f"accuracy_{k}": v for k, v in g["accuracy"].items()},
            **{f"log_loss_{k}": v for k, v in g["log_loss"].items()},
        }
        for g in result.gains()
    ]
    if gains:
        paths.append(write_csv(out / "compare_gains.csv", gains))
    paths.append(write_json(out / "compare.json", result.to_dict()))
    if not matplotlib_available():
        return paths, [_NO_MATPLOTLIB]
    return paths + compare_figures(result, out), []


def _flat_folds(folds):
    """Fold rows for CSV: the scalar columns (lists stay in the JSON)."""
    keys = [
        key
        for key in dict.fromkeys(key for row in folds for key in row)
        if not any(isinstance(row.get(key), list) for row in folds)
    ]
    return [{key: row.get(key, "") for key in keys} for row in folds]
