"""Measured study of candidate defaults for ``SnapshotEnsembleClassifier`` (issue 14).

Every candidate configuration C (a dict of ``snapshot_params``) is cross-validated with
:func:`sksnapshot.experiments.run_compare` on the same stratified folds as its own
same-budget single network: "single" is C with ``n_cycles=1``, ``n_networks=1`` and
``n_members=None``, everything else as in C (not the old defaults). The snapshot
ensemble and its single network run as two ``run_compare`` calls with the same
``random_state``, hence the same folds, paired fold by fold (``compare_estimators``'s
"single", :func:`sksnapshot.experiments.single_network`, is that same network). Every
candidate is a change to the 0.1.0 defaults (``OLD_DEFAULTS`` pins the parameters issue
14 moved), so the names keep their meaning whatever the estimator's defaults are.
``old`` (the 0.1.0 defaults on today's code) always runs too; the study's fit-time
column compares C with it on today's code. The issue's fit-time gate (against the 0.1.0
*code*, e71d99d) is measured by ``benchmarks/defaults_fit_time.py``.

Singles that several candidates share (e.g. ``old``, ``net4``, ``net4_half`` and
``net4_fewcycles`` all have the single network of the old defaults) are fitted once.
Fold rows are cached under ``<out>/cache`` (keyed by parameters, dataset, estimator and
folds); ``--no-cache`` refits everything in this process.

Gates for C (per dataset unless said otherwise):

* accuracy against single: mean paired gain >= 0 and won >= lost folds;
* log loss against single: better on >= 80 % of all folds (all datasets pooled) and
  better on average on every dataset;
* moons_noisy accuracy >= 0.910, digits_10pct accuracy >= 0.925, label_noise log loss
  <= 0.50 (when those datasets ran);
* fit time of C <= 1.0 x the old defaults' on today's code (sum of mean fit times over
  the datasets; a stricter, noisier check than ``defaults_fit_time.py``'s).

Run::

    TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH=. python benchmarks/defaults_study.py \\
        --candidates net4,net4_wd --datasets moons_noisy,label_noise,digits_10pct

Outputs: a table per candidate on stdout (printed as soon as the candidate is done),
progress on stderr and ``<out>/defaults_study_<stamp>.json``.
"""

import argparse
import hashlib
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from sksnapshot.experiments import COMPARE_DATASETS, run_compare
from sksnapshot.experiments._report import paired_gain

#: The 0.1.0 defaults of the parameters the study moves (issue 14 changed some of them):
#: every candidate is fitted with ``{**OLD_DEFAULTS, **candidate}``, so that the
#: candidates mean the same before and after the estimator's defaults change.
OLD_DEFAULTS = {"n_networks": 1, "n_members": None, "label_smoothing": 0.0}

#: Candidate defaults: name -> snapshot_params (on top of the 0.1.0 defaults).
CANDIDATES = {
    "old": {},
    "net4": {"n_networks": 4},
    "net4_auto": {"n_networks": 4, "n_members": "auto"},
    "net4_half": {"n_networks": 4, "n_members": 5},
    "net4_wd": {"n_networks": 4, "optimizer__weight_decay": 1e-3},
    "net4_wd1e4": {"n_networks": 4, "optimizer__weight_decay": 1e-4},
    "net4_short": {"n_networks": 4, "epochs": 100},
    "net4_short_wd": {"n_networks": 4, "epochs": 100, "optimizer__weight_decay": 1e-3},
    # Label smoothing (the classifier's label_smoothing, on the default loss).
    "ls1": {"label_smoothing": 0.1},
    "net4_ls1": {"n_networks": 4, "label_smoothing": 0.1},
    "net4_ls2": {"n_networks": 4, "label_smoothing": 0.2},
    "net4_last3_ls1": {"n_networks": 4, "n_members": 3, "label_smoothing": 0.1},
    "net4_last3_ls2": {"n_networks": 4, "n_members": 3, "label_smoothing": 0.2},
    "net4_half_ls1": {"n_networks": 4, "n_members": 5, "label_smoothing": 0.1},
    "net4_short_ls1": {"n_networks": 4, "epochs": 100, "label_smoothing": 0.1},
    "net4_half_lr1_ls1": {
        "n_networks": 4,
        "n_members": 5,
        "max_learning_rate": 0.1,
        "label_smoothing": 0.1,
    },
    "net4_last3_lr1_ls1": {
        "n_networks": 4,
        "n_members": 3,
        "max_learning_rate": 0.1,
        "label_smoothing": 0.1,
    },
    "net4_short_half_lr1_ls1": {
        "n_networks": 4,
        "epochs": 100,
        "n_members": 5,
        "max_learning_rate": 0.1,
        "label_smoothing": 0.1,
    },
    "net4_short_last3_lr1_ls1": {
        "n_networks": 4,
        "epochs": 100,
        "n_members": 3,
        "max_learning_rate": 0.1,
        "label_smoothing": 0.1,
    },
    "net3_last3_ls1": {"n_networks": 3, "n_members": 3, "label_smoothing": 0.1},
    "net4_e150_last3_ls1": {
        "n_networks": 4,
        "epochs": 150,
        "n_members": 3,
        "label_smoothing": 0.1,
    },
    "net4_bs64_last3_lr1_ls1": {
        "n_networks": 4,
        "batch_size": 64,
        "n_members": 3,
        "max_learning_rate": 0.1,
        "label_smoothing": 0.1,
    },
    "net4_ls05": {"n_networks": 4, "label_smoothing": 0.05},
    "net4_half_ls05": {"n_networks": 4, "n_members": 5, "label_smoothing": 0.05},
    "net4_last3_ls05": {"n_networks": 4, "n_members": 3, "label_smoothing": 0.05},
    "net4_last3_lr1_ls05": {
        "n_networks": 4,
        "n_members": 3,
        "max_learning_rate": 0.1,
        "label_smoothing": 0.05,
    },
    "net4_half_lr1_wd3e2_ls05": {
        "n_networks": 4,
        "n_members": 5,
        "max_learning_rate": 0.1,
        "optimizer__weight_decay": 3e-2,
        "label_smoothing": 0.05,
    },
    "net4_last3_lr1_wd3e2": {
        "n_networks": 4,
        "n_members": 3,
        "max_learning_rate": 0.1,
        "optimizer__weight_decay": 3e-2,
    },
    "net4_fewcycles": {"n_networks": 4, "n_cycles": 5},
    # Directions suggested by the screening: moons_noisy wants the late, well-trained
    # snapshots (fewer epochs under-fit it), label_noise wants less memorisation; Keras
    # SGD's weight_decay is decoupled (w -= lr * wd * w), so 1e-3 barely acts.
    "net4_wd1e2": {"n_networks": 4, "optimizer__weight_decay": 1e-2},
    "net4_wd3e2": {"n_networks": 4, "optimizer__weight_decay": 3e-2},
    "net4_half_wd1e2": {"n_networks": 4, "n_members": 5, "optimizer__weight_decay": 1e-2},
    "net4_half_wd3e2": {"n_networks": 4, "n_members": 5, "optimizer__weight_decay": 3e-2},
    "net4_lr1_wd1e2": {
        "n_networks": 4,
        "max_learning_rate": 0.1,
        "optimizer__weight_decay": 1e-2,
    },
    "net4_bs16_wd1e2": {"n_networks": 4, "batch_size": 16, "optimizer__weight_decay": 1e-2},
    "net4_last3": {"n_networks": 4, "n_members": 3},
    "net4_half_lr1": {"n_networks": 4, "n_members": 5, "max_learning_rate": 0.1},
    "net4_half_bs16": {"n_networks": 4, "n_members": 5, "batch_size": 16},
    "net4_fc_last3": {"n_networks": 4, "n_cycles": 5, "n_members": 3},
    "net4_half_lr1_wd3e2": {
        "n_networks": 4,
        "n_members": 5,
        "max_learning_rate": 0.1,
        "optimizer__weight_decay": 3e-2,
    },
    "net4_short_lr1": {"n_networks": 4, "epochs": 100, "max_learning_rate": 0.1},
    "net4_short_lr1_half": {
        "n_networks": 4,
        "epochs": 100,
        "max_learning_rate": 0.1,
        "n_members": 5,
    },
    "net4_short_lr1_wd1e2": {
        "n_networks": 4,
        "epochs": 100,
        "max_learning_rate": 0.1,
        "optimizer__weight_decay": 1e-2,
    },
}

SCREEN_DATASETS = ["moons_noisy", "label_noise", "digits_10pct"]
ALL_DATASETS = [name for name, d in COMPARE_DATASETS.items() if d.task == "classification"]

#: Absolute gates: dataset -> (metric, bound, "min" or "max").
ABSOLUTE_GATES = {
    "moons_noisy": ("accuracy", 0.910, "min"),
    "digits_10pct": ("accuracy", 0.925, "min"),
    "label_noise": ("log_loss", 0.50, "max"),
}
LOG_LOSS_WIN_SHARE = 0.80
FIT_TIME_RATIO = 1.0

#: Columns kept from every fold row.
_SCALARS = ("fold", "accuracy", "log_loss", "brier", "ece", "fit_time", "predict_time")
_EXTRAS = ("final_snapshot_accuracy", "final_snapshot_log_loss", "n_members", "n_snapshots")
_LISTS = ("last_k_accuracy", "last_k_log_loss", "one_network_log_loss")


def single_params(params):
    """The same-budget single network of ``params``: one cycle, one network, all members."""
    drop = ("n_cycles", "n_networks", "n_members")
    single = {k: v for k, v in params.items() if k not in drop}
    return single | {"n_networks": 1, "n_members": None}


def _repeats(dataset, args):
    """CV repeats on ``dataset``: ``--small-repeats`` on the three small ones."""
    small = getattr(args, "small_repeats", None)
    return small if small and dataset in SCREEN_DATASETS else args.n_repeats


def _key(params, dataset, estimator, args):
    text = json.dumps(
        [
            sorted(params.items()),
            dataset,
            estimator,
            args.n_splits,
            _repeats(dataset, args),
            args.random_state,
        ],
        default=str,
    )
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _clean(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def fit_rows(params, dataset, estimator, args, cache_dir, log):
    """Fold rows of ``estimator`` ("snapshot" or "single") with ``params`` on ``dataset``."""
    path = cache_dir / f"{_key(params, dataset, estimator, args)}.json" if cache_dir else None
    if path is not None and path.exists():
        log(f"  [cache] {estimator:<8} {dataset:<14} {params}")
        return json.loads(path.read_text())["rows"], True
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_compare(
            datasets=[dataset],
            estimators=[estimator],
            snapshot_params={**OLD_DEFAULTS, **params},
            n_splits=args.n_splits,
            n_repeats=_repeats(dataset, args),
            random_state=args.random_state,
        )
    wall = time.perf_counter() - start
    rows = []
    for row in result.folds:
        keep = {k: _clean(row.get(k)) for k in _SCALARS}
        keep["fit_failed"] = bool(row.get("fit_failed", False))
        keep["fit_error"] = row.get("fit_error", "")
        keep |= {k: _clean(row[k]) for k in _EXTRAS if k in row}
        keep |= {k: row[k] for k in _LISTS if k in row}
        rows.append(keep)
    log(f"  {estimator:<8} {dataset:<14} {wall:6.1f} s  {params}")
    if path is not None:
        payload = {"params": params, "rows": rows, "wall": wall, "when": time.time()}
        path.write_text(json.dumps(payload, default=str))
    return rows, False


def _values(rows, key):
    return np.array([np.nan if r.get(key) is None else r[key] for r in rows], dtype=float)


def _mean(values):
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else float("nan")


def evaluate(name, per_dataset, old_fit):
    """Per-dataset figures and gates of one candidate."""
    table, gates, wins, folds = [], {}, 0, 0
    fit_c, fit_old = 0.0, 0.0
    for dataset, (snap, single) in per_dataset.items():
        acc_c, acc_s = _values(snap, "accuracy"), _values(single, "accuracy")
        ll_c, ll_s = _values(snap, "log_loss"), _values(single, "log_loss")
        ok = np.isfinite(acc_c) & np.isfinite(acc_s) & np.isfinite(ll_c) & np.isfinite(ll_s)
        acc_gain = paired_gain(acc_c[ok], acc_s[ok], higher_is_better=True)
        ll_gain = paired_gain(ll_c[ok], ll_s[ok], higher_is_better=False)
        fit = _mean(_values(snap, "fit_time"))
        ratio = fit / old_fit[dataset] if dataset in old_fit else float("nan")
        if dataset in old_fit:
            fit_c, fit_old = fit_c + fit, fit_old + old_fit[dataset]
        wins += ll_gain["won"]
        folds += int(ok.sum())
        row = {
            "dataset": dataset,
            "acc": _mean(acc_c),
            "acc_single": _mean(acc_s),
            "acc_gain": acc_gain,
            "ll": _mean(ll_c),
            "ll_single": _mean(ll_s),
            "ll_gain": ll_gain,
            "fit_time": fit,
            "fit_time_single": _mean(_values(single, "fit_time")),
            "fit_ratio_old": ratio,
            "final_snapshot_acc": _mean(_values(snap, "final_snapshot_accuracy")),
            "final_snapshot_ll": _mean(_values(snap, "final_snapshot_log_loss")),
            "n_failed": int(sum(r["fit_failed"] for r in snap + single)),
        }
        gates[f"acc>=single[{dataset}]"] = bool(
            ok.any() and acc_gain["mean"] >= -1e-12 and acc_gain["won"] >= acc_gain["lost"]
        )
        gates[f"ll<single mean[{dataset}]"] = bool(ok.any() and ll_gain["mean"] < 0)
        if dataset in ABSOLUTE_GATES:
            metric, bound, kind = ABSOLUTE_GATES[dataset]
            value = row["acc"] if metric == "accuracy" else row["ll"]
            sign = ">=" if kind == "min" else "<="
            gates[f"{metric}{sign}{bound}[{dataset}]"] = bool(  # 1e-9: 182/200 is 0.910
                value >= bound - 1e-9 if kind == "min" else value <= bound + 1e-9
            )
        table.append(row)
    share = wins / folds if folds else float("nan")
    gates[f"ll won>={LOG_LOSS_WIN_SHARE:.0%} folds"] = bool(share >= LOG_LOSS_WIN_SHARE)
    total_ratio = fit_c / fit_old if fit_old else float("nan")
    gates[f"fit<={FIT_TIME_RATIO}x old"] = bool(total_ratio <= FIT_TIME_RATIO)
    return {
        "candidate": name,
        "rows": table,
        "ll_win_share": share,
        "fit_ratio_old": total_ratio,
        "gates": gates,
        "passed": all(gates.values()),
    }


def _wtl(gain):
    return f"{gain['won']}/{gain['tied']}/{gain['lost']}"


def print_report(name, params, summary, out=sys.stdout):
    """The candidate's table: C against its single network, fit time against old."""
    print(f"\n== {name}: {params}", file=out)
    print(
        f"  {'dataset':<14}{'acc C':>7}{'acc S':>7}{'gain':>8}{'W/T/L':>7}"
        f"{'ll C':>8}{'ll S':>8}{'gain':>8}{'W/T/L':>7}{'fit C s':>9}{'fit S s':>9}"
        f"{'C/old':>7}{'lastacc':>8}{'lastll':>8}",
        file=out,
    )
    for r in summary["rows"]:
        failed = f"  ({r['n_failed']} failed)" if r["n_failed"] else ""
        print(
            f"  {r['dataset']:<14}{r['acc']:7.3f}{r['acc_single']:7.3f}"
            f"{r['acc_gain']['mean']:+8.3f}{_wtl(r['acc_gain']):>7}"
            f"{r['ll']:8.3f}{r['ll_single']:8.3f}{r['ll_gain']['mean']:+8.3f}"
            f"{_wtl(r['ll_gain']):>7}{r['fit_time']:9.1f}{r['fit_time_single']:9.1f}"
            f"{r['fit_ratio_old']:7.2f}{r['final_snapshot_acc']:8.3f}"
            f"{r['final_snapshot_ll']:8.3f}{failed}",
            file=out,
        )
    print(
        f"  log loss won on {summary['ll_win_share']:.0%} of folds; "
        f"fit time {summary['fit_ratio_old']:.2f} x old",
        file=out,
    )
    failed = [gate for gate, ok in summary["gates"].items() if not ok]
    verdict = "ALL PASS" if not failed else "FAIL " + ", ".join(failed)
    n_pass = sum(summary["gates"].values())
    print(f"  gates: {verdict} ({n_pass}/{len(summary['gates'])} pass)", file=out, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--candidates", default="old,net4", help="comma-separated names")
    parser.add_argument(
        "--datasets", default=",".join(SCREEN_DATASETS), help="comma-separated, or 'all'"
    )
    parser.add_argument("--n-splits", type=int, default=5)
    parser.add_argument("--n-repeats", type=int, default=1)
    parser.add_argument(
        "--small-repeats",
        type=int,
        default=None,
        help="CV repeats on the three small datasets (issue 14's protocol: 3); "
        "default: --n-repeats",
    )
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--figure",
        action="store_true",
        help="also draw every candidate's paired gains over its single network "
        "(<out>/defaults_study_<stamp>.png; needs matplotlib)",
    )
    parser.add_argument("--out", default="/tmp/defaults_study")
    parser.add_argument("--no-cache", action="store_true", help="refit everything")
    parser.add_argument(
        "--interleave",
        action="store_true",
        help="run dataset by dataset (all candidates on one dataset, then the next): "
        "fairer fit times under a varying load; tables come at the end",
    )
    parser.add_argument("--list", action="store_true", help="list the candidates and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, params in CANDIDATES.items():
            print(f"{name:<20} {params}")
        return 0
    names = [n for n in args.candidates.split(",") if n]
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        parser.error(f"unknown candidate(s) {unknown}; see --list")
    names = ["old"] + [n for n in names if n != "old"]  # old first: the fit-time reference
    datasets = ALL_DATASETS if args.datasets == "all" else args.datasets.split(",")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache_dir = None if args.no_cache else out / "cache"
    if cache_dir is not None:
        cache_dir.mkdir(exist_ok=True)

    def log(text):
        print(text, file=sys.stderr, flush=True)

    start = time.perf_counter()
    fitted, from_cache, errors, summaries, old_fit = {}, [], {}, {}, {}
    if args.interleave:  # dataset by dataset: old and C side by side under the same load
        tasks = [(name, dataset) for dataset in datasets for name in names]
    else:  # candidate by candidate: a stopped run still reports whole candidates
        tasks = [(name, dataset) for name in names for dataset in datasets]
    for index, (name, dataset) in enumerate(tasks):
        if name not in errors:
            params = CANDIDATES[name]
            try:
                snap, cached = fit_rows(params, dataset, "snapshot", args, cache_dir, log)
                single, cached_s = fit_rows(
                    single_params(params), dataset, "single", args, cache_dir, log
                )
            except Exception as exc:  # a candidate that cannot run is reported, not fatal
                errors[name] = f"{type(exc).__name__}: {exc}"
                log(f"  {name} failed on {dataset}: {errors[name]}")
                print(f"\n== {name}: FAILED ({errors[name]})", flush=True)
                fitted.pop(name, None)
            else:
                fitted.setdefault(name, {})[dataset] = (snap, single)
                if cached or cached_s:
                    from_cache.append(f"{name}/{dataset}")
        done = all(task[0] != name for task in tasks[index + 1 :])
        if done and name not in errors:
            if name == "old":
                old_fit = {d: _mean(_values(s, "fit_time")) for d, (s, _) in fitted[name].items()}
            if old_fit:
                summaries[name] = evaluate(name, fitted[name], old_fit)
                print_report(name, CANDIDATES[name], summaries[name])
    if args.interleave:  # old finished last on the last dataset: report the others now
        for name in names:
            if name not in summaries and name in fitted:
                summaries[name] = evaluate(name, fitted[name], old_fit)
                print_report(name, CANDIDATES[name], summaries[name])
    wall = time.perf_counter() - start
    cached = f"; from cache: {', '.join(from_cache)}" if from_cache else ""
    print(f"\nWall time {wall:.0f} s{cached}")
    path = out / f"defaults_study_{time.strftime('%Y%m%d-%H%M%S')}.json"
    payload = {
        "argv": sys.argv,
        "datasets": datasets,
        "n_splits": args.n_splits,
        "n_repeats": args.n_repeats,
        "small_repeats": args.small_repeats,
        "random_state": args.random_state,
        "candidates": {n: CANDIDATES[n] for n in names},
        "summaries": summaries,
        "errors": errors,
        "from_cache": from_cache,
        "wall_time": wall,
        "folds": {
            n: {d: {"snapshot": s, "single": t} for d, (s, t) in per.items()}
            for n, per in fitted.items()
        },
    }
    path.write_text(json.dumps(payload, indent=1, default=str))
    print(f"Saved {path}")
    if args.figure and summaries:
        figure = path.with_suffix(".png")
        plot_gains(summaries, figure)
        print(f"Saved {figure}")
    return 0


def plot_gains(summaries, path):
    """Bar charts of every candidate's paired gains over its own single network.

    One panel for accuracy, one for log loss; per dataset one bar per candidate (the
    mean paired gain, with the standard error of the folds' gains) and its won/tied/lost
    folds above it. Gains are "better is up" in both panels: log loss is plotted as
    single minus candidate.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summaries)
    datasets = [row["dataset"] for row in summaries[names[0]]["rows"]]
    fig, axes = plt.subplots(2, 1, figsize=(1.6 * len(datasets) + 2, 7), sharex=True)
    width = 0.8 / len(names)
    for ax, key, title in (
        (axes[0], "acc_gain", "accuracy gain over its single network"),
        (axes[1], "ll_gain", "log-loss gain over its single network (single - ensemble)"),
    ):
        for i, name in enumerate(names):
            rows = {row["dataset"]: row for row in summaries[name]["rows"]}
            gains = [rows[d][key] for d in datasets]
            sign = -1.0 if key == "ll_gain" else 1.0
            n = np.array([g["won"] + g["tied"] + g["lost"] for g in gains])
            means = sign * np.array([g["mean"] for g in gains])
            errors = np.array([g["std"] for g in gains]) / np.sqrt(np.maximum(n, 1))
            x = np.arange(len(datasets)) + (i - (len(names) - 1) / 2) * width
            ax.bar(x, means, width, yerr=errors, label=name, capsize=2)
            for xi, mean, gain in zip(x, means, gains, strict=True):
                ax.annotate(
                    f"{gain['won']}/{gain['tied']}/{gain['lost']}",
                    (xi, mean),
                    textcoords="offset points",
                    xytext=(0, 3 if mean >= 0 else -10),
                    ha="center",
                    fontsize=7,
                )
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_title(title + "; won/tied/lost folds above the bars", fontsize=10)
    axes[1].set_xticks(np.arange(len(datasets)), datasets)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
