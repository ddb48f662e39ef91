"""Fit time at the new defaults against the 0.1.0 defaults, side by side (issue 14's gate).

Issue 14's fit-time gate: fit time at the new defaults <= 1.0 x the 0.1.0 defaults
(commit e71d99d), measured side by side in the same run. Both code versions run at once:

* the package of commit e71d99d (the 0.1.0 release; ``--old-commit``) is extracted with
  ``git archive <commit> sksnapshot | tar -x`` into a temporary directory;
* two long-lived worker processes (this script with ``--worker``), one per version: the
  "old" worker imports ``sksnapshot`` from the extracted copy, the "new" worker from this
  checkout (the directory is put first on the worker's ``PYTHONPATH``; the worker runs in
  a scratch directory and reports which ``sksnapshot`` it imported, which is checked).
  The parent drives them over stdin/stdout, one JSON line per request, the arrays of a
  fold in an ``.npz`` file;
* every request fits ``SnapshotEnsembleClassifier(random_state=<seed of the fold>,
  **params)`` (fold k: ``--random-state`` + k) on a fold's training rows and returns the
  wall time of ``fit`` alone (``time.perf_counter``, after a ``gc.collect``), its process
  CPU time and the accuracy on the fold's test rows (a sanity check). ``params`` is
  ``--old-params`` for the old worker and ``--new-params`` for the new one (JSON; both
  ``{}`` by default: each version's own defaults);
* each worker first fits once untimed (the first dataset's first fold), so that one-time
  costs (imports, TensorFlow's start-up, XLA compilation) stay out of the ratio; that
  fit's time is reported on its own. It warms up one dataset only: the first round also
  pays for the first fit on every other dataset's shapes (features, classes, rows; new
  compilations), which the median over rounds leaves out from three rounds on, not with
  ``--quick`` (one round); the per-round ratios show it.

The data are the seven classification datasets of
:data:`sksnapshot.experiments.COMPARE_DATASETS` (loaded with this checkout's
:func:`~sksnapshot.experiments.load_dataset`), split as ``sksnapshot compare`` splits them
(``StratifiedKFold(n_splits, shuffle=True, random_state=--random-state)``) and
standardized as it does (a ``StandardScaler`` fitted on the training fold). Every round
runs, dataset after dataset, all folds on one version then all folds on the other; the
order alternates from round to round (old-new, new-old, ...) so that drifts of the load
from other processes hit both alike.

Reported: per dataset, the median over rounds of the sum over folds of the fit times,
old and new, and their ratio new/old; the total (sum of the per-dataset medians) and its
ratio, PASS when <= 1.0; the smallest and largest per-round ratio of the totals (the
spread); the same totals in CPU seconds; the warm-up fits; mean test accuracies.

Run::

    TF_CPP_MIN_LOG_LEVEL=3 OMP_NUM_THREADS=1 python benchmarks/defaults_fit_time.py
    python benchmarks/defaults_fit_time.py --quick --datasets moons_noisy,wine
    python benchmarks/defaults_fit_time.py --new-params '{"n_networks": 4}' --rounds 5

Outputs: the table on stdout, progress on stderr and
``<out>/defaults_fit_time_<stamp>.json`` (``--out``, default ``/tmp/defaults_fit_time``;
never inside the repository).
"""

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL = 1.0
OLD_COMMIT = "e71d99d"


# --------------------------------------------------------------------------- worker
def worker():
    """Serve fit requests: one JSON line in on stdin, one JSON line out."""
    # The replies go to the original stdout; anything a library prints goes to stderr.
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import warnings

    import numpy as np

    import sksnapshot
    from sksnapshot import SnapshotEnsembleClassifier

    warnings.simplefilter("ignore")
    hello = {"file": sksnapshot.__file__, "version": getattr(sksnapshot, "__version__", "")}
    replies.write(json.dumps(hello) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("stop"):
            break
        try:
            data = np.load(request["npz"])
            params = {k: tuple(v) if isinstance(v, list) else v for k, v in request["params"]}
            model = SnapshotEnsembleClassifier(random_state=request["seed"], **params)
            gc.collect()
            start, cpu = time.perf_counter(), time.process_time()
            model.fit(data["X_train"], data["y_train"])
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            accuracy = float(np.mean(model.predict(data["X_test"]) == data["y_test"]))
            reply = {"fit_time": wall, "cpu_time": cpu, "accuracy": accuracy}
        except Exception as exc:  # reported to the parent, which stops
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(reply) + "\n")


class Worker:
    """A worker process importing ``sksnapshot`` from ``path``."""

    def __init__(self, name, path, params, scratch):
        self.name, self.params = name, params
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(path), env.get("PYTHONPATH")) if p)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        self.log_path = Path(scratch) / f"{name}_worker.log"
        self.log = open(self.log_path, "w")  # closed in close()
        # cwd: the scratch directory, not the repository (sys.path[0] must not be it).
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=scratch,
            env=env,
            text=True,
        )
        self.hello = self._read()
        expected = Path(path).resolve() / "sksnapshot" / "__init__.py"
        if Path(self.hello["file"]).resolve() != expected:
            raise RuntimeError(f"{name} worker imported {self.hello['file']}, not {expected}")

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            self.log.flush()
            tail = self.log_path.read_text()[-3000:]
            raise RuntimeError(f"{self.name} worker ended:\n{tail}")
        return json.loads(line)

    def fit(self, npz, seed):
        request = {"npz": str(npz), "seed": seed, "params": list(self.params.items())}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = self._read()
        if "error" in reply:
            raise RuntimeError(f"{self.name} worker: {reply['error']}")
        return reply

    def close(self):
        try:
            self.process.stdin.write(json.dumps({"stop": True}) + "\n")
            self.process.stdin.close()
            self.process.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
        self.log.close()


# --------------------------------------------------------------------------- parent
def extract(commit, into):
    """``git archive <commit> sksnapshot`` unpacked under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, "sksnapshot"], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    revision = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", commit], check=True, capture_output=True, text=True
    )
    return revision.stdout.strip()


def write_folds(datasets, n_splits, random_state, scratch):
    """The standardized folds of every dataset as ``.npz`` files: name -> [(path, seed)]."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    from sksnapshot.experiments import load_dataset

    folds = {}
    for name in datasets:
        X, y = load_dataset(name)
        cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
        folds[name] = []
        for k, (train, test) in enumerate(cv.split(X, y)):
            scaler = StandardScaler().fit(X[train])
            path = Path(scratch) / f"{name}_{k}.npz"
            np.savez(
                path,
                X_train=scaler.transform(X[train]),
                y_train=y[train],
                X_test=scaler.transform(X[test]),
                y_test=y[test],
            )
            folds[name].append((path, random_state + k))
    return folds


def machine():
    import keras
    import numpy
    import sklearn
    import tensorflow

    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (
        f"{os.cpu_count()} logical cores, load average at start: {load}; Python "
        f"{sys.version.split()[0]}, TensorFlow {tensorflow.__version__}, Keras "
        f"{keras.__version__}, scikit-learn {sklearn.__version__}, numpy {numpy.__version__}"
    )


def summarize(times, datasets, key):
    """Per-dataset medians of fold sums, totals and per-round total ratios."""
    per_dataset = {}
    for name in datasets:
        old = statistics.median(sum(r) for r in times["old"][name][key])
        new = statistics.median(sum(r) for r in times["new"][name][key])
        per_dataset[name] = {"old": old, "new": new, "ratio": new / old}
    total_old = sum(d["old"] for d in per_dataset.values())
    total_new = sum(d["new"] for d in per_dataset.values())
    n_rounds = len(times["old"][datasets[0]][key])
    round_totals = {
        side: [sum(sum(times[side][n][key][r]) for n in datasets) for r in range(n_rounds)]
        for side in ("old", "new")
    }
    round_ratios = [n / o for o, n in zip(round_totals["old"], round_totals["new"], strict=True)]
    return {
        "per_dataset": per_dataset,
        "total": {"old": total_old, "new": total_new, "ratio": total_new / total_old},
        "round_totals": round_totals,
        "round_ratios": round_ratios,
    }


def print_report(args, summary, cpu, accuracy, warm_up, workers, old_revision):
    def line(name, row):
        return f"  {name:<16} {row['old']:>9.2f} {row['new']:>9.2f} {row['ratio']:>8.3f}"

    print(
        f"\nFit time, new defaults vs {args.old_commit} (0.1.0), side by side: "
        f"{args.rounds} round(s) x {args.n_splits} stratified folds, standardized inputs"
    )
    print(f"  old: {workers['old']} at {old_revision[:12]}, params {args.old_params}")
    print(f"  new: {workers['new']}, params {args.new_params}")
    print("  seconds: median over rounds of the sum of the folds' fit times")
    print(f"  {'dataset':<16} {'old s':>9} {'new s':>9} {'new/old':>8}")
    for name, row in summary["per_dataset"].items():
        print(line(name, row))
    total = summary["total"]
    verdict = "PASS" if total["ratio"] <= GOAL else "FAIL"
    print(line("total", total) + f"   goal <= {GOAL:.1f}: {verdict}")
    ratios = summary["round_ratios"]
    print(
        f"  total ratio per round: {', '.join(f'{r:.3f}' for r in ratios)} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f})"
    )
    print(
        f"  CPU seconds (process time, less sensitive to other load): old "
        f"{cpu['total']['old']:.2f}, new {cpu['total']['new']:.2f}, ratio "
        f"{cpu['total']['ratio']:.3f} (per round {min(cpu['round_ratios']):.3f} to "
        f"{max(cpu['round_ratios']):.3f})"
    )
    print(
        f"  warm-up fit (first fit of the worker, not counted; {warm_up['dataset']} fold 0): "
        f"old {warm_up['old']['fit_time']:.2f} s, new {warm_up['new']['fit_time']:.2f} s"
    )
    print("  mean test accuracy (sanity):")
    for name in summary["per_dataset"]:
        print(f"    {name:<16} old {accuracy['old'][name]:.3f}  new {accuracy['new'][name]:.3f}")
    return verdict


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--datasets", default="all", help="comma-separated, or 'all'")
    parser.add_argument("--n-splits", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--old-commit", default=OLD_COMMIT)
    parser.add_argument("--old-params", default="{}", help="JSON, for the old version")
    parser.add_argument("--new-params", default="{}", help="JSON, for this checkout")
    parser.add_argument("--out", default="/tmp/defaults_fit_time")
    parser.add_argument("--quick", action="store_true", help="1 round, 3 folds")
    args = parser.parse_args(argv)
    if args.worker:
        return worker()
    if args.quick:
        args.rounds, args.n_splits = 1, 3
    # This checkout's sksnapshot (experiments) in this process.
    sys.path.insert(0, str(REPO))
    from sksnapshot.experiments import task_datasets

    known = task_datasets("classification")
    datasets = known if args.datasets == "all" else args.datasets.split(",")
    unknown = [d for d in datasets if d not in known]
    if unknown:
        parser.error(f"unknown dataset(s) {unknown}; choose from {', '.join(known)}")
    params = {"old": json.loads(args.old_params), "new": json.loads(args.new_params)}
    out = Path(args.out).resolve()
    if out == REPO or REPO in out.parents:
        parser.error(f"--out {out} is inside the repository")
    out.mkdir(parents=True, exist_ok=True)

    def log(text):
        print(text, file=sys.stderr, flush=True)

    start = time.perf_counter()
    host = machine()
    print(host, flush=True)
    with tempfile.TemporaryDirectory(prefix="defaults_fit_time_") as scratch:
        old_root = Path(scratch) / "old"
        old_root.mkdir()
        old_revision = extract(args.old_commit, old_root)
        folds = write_folds(datasets, args.n_splits, args.random_state, scratch)
        workers = {}
        try:
            workers["old"] = Worker("old", old_root, params["old"], scratch)
            workers["new"] = Worker("new", REPO, params["new"], scratch)
            names = {side: w.hello["file"] for side, w in workers.items()}
            versions = {side: w.hello["version"] for side, w in workers.items()}
            log(f"old: {names['old']} ({versions['old']}); new: {names['new']}")
            first_npz, first_seed = folds[datasets[0]][0]
            warm_up = {"dataset": datasets[0]}
            for side in ("old", "new"):
                warm_up[side] = workers[side].fit(first_npz, first_seed)
                log(f"warm-up {side}: {warm_up[side]['fit_time']:.2f} s")
            times = {
                side: {n: {"fit_time": [], "cpu_time": [], "accuracy": []} for n in datasets}
                for side in ("old", "new")
            }
            for r in range(args.rounds):
                order = ("old", "new") if r % 2 == 0 else ("new", "old")
                for name in datasets:
                    for side in order:
                        replies = [workers[side].fit(p, s) for p, s in folds[name]]
                        for key in ("fit_time", "cpu_time", "accuracy"):
                            times[side][name][key].append([reply[key] for reply in replies])
                        log(
                            f"round {r + 1}/{args.rounds} {name} {side}: "
                            f"{sum(x['fit_time'] for x in replies):.2f} s"
                        )
        finally:
            for w in workers.values():
                w.close()
    wall = time.perf_counter() - start
    summary = summarize(times, datasets, "fit_time")
    cpu = summarize(times, datasets, "cpu_time")
    accuracy = {
        side: {n: statistics.mean(sum(times[side][n]["accuracy"], [])) for n in datasets}
        for side in ("old", "new")
    }
    files = {side: f"{names[side]} ({versions[side]})" for side in names}
    verdict = print_report(args, summary, cpu, accuracy, warm_up, files, old_revision)
    print(f"\nWall time {wall:.0f} s")
    path = out / f"defaults_fit_time_{time.strftime('%Y%m%d-%H%M%S')}.json"
    payload = {
        "argv": sys.argv,
        "machine": host,
        "old_commit": args.old_commit,
        "old_revision": old_revision,
        "workers": names,
        "versions": versions,
        "params": params,
        "datasets": datasets,
        "n_splits": args.n_splits,
        "rounds": args.rounds,
        "random_state": args.random_state,
        "goal": GOAL,
        "verdict": verdict,
        "fit_time": summary,
        "cpu_time": cpu,
        "accuracy": accuracy,
        "warm_up": warm_up,
        "folds": times,
        "wall_time": wall,
    }
    path.write_text(json.dumps(payload, indent=1))
    print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
