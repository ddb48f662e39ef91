"""Resident memory across many consecutive fits in one process, with and without the
gradient-registry cleanup of ``sksnapshot._tensorflow.released_graph_state``.

Every fit trains a small snapshot ensemble (100 rows, 2 features, 16 hidden units, 4
cycles of 5 epochs) and predicts once; the resident set size (RSS, from /proc/self/statm)
is printed every ``--every`` fits. Each variant runs in its own fresh Python process, so
they do not share TensorFlow state; their curves are printed side by side with the growth
after the first ``--every`` fits (the warm-up: TensorFlow's and Keras' caches fill).

Scenarios:

* ``discard`` (default): fit a new estimator every time and drop it, as a grid search does.
* ``refit``: refit one estimator every time (each fit builds a new network).
* ``keep``: keep every fitted estimator alive (memory held per fitted estimator).

Usage::

    python benchmarks/memory_many_fits.py                  # 200 fits, both variants
    python benchmarks/memory_many_fits.py --fits 500 --scenario keep
"""

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from contextlib import nullcontext


def rss_mb():
    """Current resident set size of this process in MB (Linux /proc, else psutil)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # pragma: no cover - not Linux
        import psutil

        return psutil.Process().memory_info().rss / 2**20


def run(fits, every, scenario, cleanup):
    """Run the fits in this process; return [(n_fits, rss_mb), ...] and the wall time."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    from sklearn.datasets import make_blobs

    import sksnapshot._base
    from sksnapshot import SnapshotEnsembleClassifier

    if not cleanup:
        sksnapshot._base.released_graph_state = nullcontext
    X, y = make_blobs(n_samples=100, centers=3, n_features=2, random_state=2)
    X = X.astype(np.float32)
    kept, curve = [], [(0, rss_mb())]
    clf = None
    start = time.perf_counter()
    for i in range(1, fits + 1):
        if scenario != "refit" or clf is None:
            clf = SnapshotEnsembleClassifier(
                hidden_layer_sizes=(16,), n_cycles=4, epochs=20, n_networks=1, random_state=i
            )
        clf.fit(X, y).predict_proba(X)
        if scenario == "keep":
            kept.append(clf)
        if scenario == "discard":
            clf = None
        if i % every == 0:
            gc.collect()
            curve.append((i, rss_mb()))
    return curve, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=200)
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--scenario", choices=["discard", "refit", "keep"], default="discard")
    parser.add_argument("--variant", choices=["cleanup", "no-cleanup"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.variant:  # one variant, in a child process
        curve, wall = run(args.fits, args.every, args.scenario, args.variant == "cleanup")
        print(json.dumps({"curve": curve, "wall": wall}))
        return

    results = {}
    for variant in ("cleanup", "no-cleanup"):
        command = [sys.executable, __file__, "--variant", variant, "--fits", str(args.fits)]
        command += ["--every", str(args.every), "--scenario", args.scenario]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        out = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        results[variant] = json.loads(out.stdout.strip().splitlines()[-1])

    print(f"scenario={args.scenario}, {args.fits} fits, RSS in MB (fresh process per variant)")
    print(f"{'fits':>6} {'cleanup':>10} {'no cleanup':>11}")
    with_, without = results["cleanup"]["curve"], results["no-cleanup"]["curve"]
    for (n, a), (_, b) in zip(with_, without, strict=True):
        print(f"{n:>6} {a:>10.1f} {b:>11.1f}")
    for name, curve in (("cleanup", with_), ("no cleanup", without)):
        warm = curve[1][1]
        growth = curve[-1][1] - warm
        per_fit = growth / max(curve[-1][0] - curve[1][0], 1)
        wall = results["cleanup" if name == "cleanup" else "no-cleanup"]["wall"]
        print(
            f"{name:>10}: growth after fit {curve[1][0]}: {growth:+.1f} MB "
            f"({per_fit * 1024:+.0f} KB per fit), wall {wall:.0f} s"
        )
    a = with_[-1][1] - with_[1][1]
    b = without[-1][1] - without[1][1]
    if a > 0:
        print(f"growth ratio (no cleanup / cleanup): {b / a:.1f}x")


if __name__ == "__main__":
    main()
