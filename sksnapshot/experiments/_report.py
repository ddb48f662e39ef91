"""Summaries (mean ± std, paired gains) and result files (CSV, JSON) of the experiments."""

import csv
import json
import platform
import sys
from importlib import metadata

import numpy as np

__all__ = [
    "environment",
    "format_gain",
    "format_mean_std",
    "mean_std",
    "paired_gain",
    "write_csv",
    "write_json",
]


def mean_std(values, axis=None):
    """Mean and sample standard deviation (``ddof=1``; 0 for a single value, NaN for none)."""
    values = np.asarray(values, dtype=np.float64)
    if axis is None and values.size == 0:
        return np.nan, np.nan
    n = values.size if axis is None else values.shape[axis]
    std = values.std(axis=axis, ddof=1) if n > 1 else np.zeros_like(values.mean(axis=axis))
    return values.mean(axis=axis), std


def format_mean_std(values, digits=3, sign=False):
    """``"0.810 ± 0.004"`` (``"+0.001 ± 0.004"`` with ``sign=True``)."""
    mean, std = mean_std(values)
    mean = round(float(mean), digits) + 0.0  # no "-0.000"
    return f"{mean:{'+' if sign else ''}.{digits}f} ± {std:.{digits}f}"


def paired_gain(ours, theirs, higher_is_better=True):
    """Paired difference ``ours - theirs`` over runs, with won / tied / lost counts.

    Parameters
    ----------
    ours, theirs : array-like of shape (n_runs,)
        Scores of two methods on the same runs (same seeds or same folds).
    higher_is_better : bool, default=True
        False for losses: a lower ``ours`` wins.

    Returns
    -------
    gain : dict
        ``mean`` and ``std`` of the difference, and the counts ``won``, ``tied``,
        ``lost`` of runs where ``ours`` is better, equal (within 1e-12), worse.
    """
    diff = np.asarray(ours, dtype=np.float64) - np.asarray(theirs, dtype=np.float64)
    better = diff if higher_is_better else -diff
    mean, std = mean_std(diff)
    return {
        "mean": float(mean),
        "std": float(std),
        "won": int(np.sum(better > 1e-12)),
        "tied": int(np.sum(np.abs(better) <= 1e-12)),
        "lost": int(np.sum(better < -1e-12)),
    }


def format_gain(gain, digits=4):
    """``"+0.0005 ± 0.0021   4/3/3"``."""
    mean = round(gain["mean"], digits) + 0.0  # no "-0.0000"
    return (
        f"{mean:+.{digits}f} ± {gain['std']:.{digits}f}   "
        f"{gain['won']}/{gain['tied']}/{gain['lost']}"
    )


def environment():
    """Versions of Python and the libraries the results depend on."""
    from .. import __version__

    versions = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sksnapshot": __version__,
    }
    for package in ("scikit-learn", "keras", "tensorflow", "scikeras", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    versions["command"] = " ".join(sys.argv)
    return versions


def write_csv(path, rows):
    """Write a list of flat dicts as CSV: every key a column, empty where a row lacks it."""
    rows = list(rows)
    with open(path, "w", newline="") as handle:
        fields = list(dict.fromkeys(key for row in rows for key in row))
        writer = csv.DictWriter(handle, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_json(path, data):
    """Write ``data`` (dicts, lists, numbers, numpy arrays) as indented JSON."""
    with open(path, "w") as handle:
        json.dump(_plain(data), handle, indent=2)
        handle.write("\n")
    return path
