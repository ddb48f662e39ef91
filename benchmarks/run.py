"""Speed and memory of sksnapshot against scikit-learn's MLP and plain Keras (issue 12).

Every target is measured side by side in one process (the compared fits interleaved,
round after round), as the median of several runs after a warm-up, and printed with its
ratio and PASS/FAIL. The verdict's ratio is the median of the per-round ratios (both
sides of a round share any burst of load from other processes); the ratio of the medians
is printed next to it. Memory is measured in fresh subprocesses (TensorFlow's allocations
are invisible to ``tracemalloc``: resident-set sizes from ``/proc/self/status``).

Usage::

    python benchmarks/run.py            # everything (about 20 minutes on 2 cores)
    python benchmarks/run.py --quick    # fewer runs, a shorter search, no plain Keras,
                                        # no curve and no memory (unless named in --only)
    python benchmarks/run.py --only 2,3,predict

``digits`` below is ``sklearn.datasets.load_digits`` split 80/20
(``train_test_split(test_size=0.2, random_state=0, stratify=y)``: 1,437 training rows,
360 test rows, 64 features), standardized with a ``StandardScaler`` fitted on the
training part. The ``MLPClassifier`` of targets 2 and 4 is
``MLPClassifier(solver="sgd", batch_size=32, max_iter=200, tol=0, n_iter_no_change=200,
hidden_layer_sizes=(100,), momentum=0.9, learning_rate_init=0.025)`` (0.025: the mean
of the default cosine schedule from 0.05 to 0).

Targets (issue 12; ratios are medians of paired per-round ratios of >= 7 runs, 3 with
``--quick``):

1. Reference fit (100 rows, hidden 50, 500 epochs, 10 cycles, batch 32, per-step
   schedule) <= 0.25 x MLPClassifier doing the same work; the reference experiment's
   accuracy over 10 seeds (5 with ``--quick``) unchanged within noise: within two
   standard errors of the recorded 0.810 +- 0.004 (10 seeds), final snapshot and
   all-10 ensemble. Reported: a plain scikeras KerasClassifier fit (issue 4: >= 20 x).
2. Default-settings fit on digits (``SnapshotEnsembleClassifier(n_networks=1,
   random_state=...)``: hidden (100,), 200 epochs, batch 32, 10 cycles, one network as
   the defaults were when issue 12 set the target) <= 0.5 x the MLPClassifier above;
   reported: issue 14's defaults (4 networks); the test accuracies printed. Targets 1-5
   fit one network (``ONE_NETWORK``): the same work as the MLPClassifier.
3. A fit on a row count not seen before in the process (a CV fold: 81 % of digits' rows
   and up, one new count per round, after a warm-up fit on 80 %) <= 1.2 x the next fit on
   the same rows (warm, no recompilation). Reported: the first fit in a fresh process
   (imports excluded), default settings on digits.
4. GridSearchCV over 6 candidates x 5 folds on digits (``max_learning_rate`` x
   ``n_cycles``), ``n_jobs=1``: total wall time <= 0.5 x the same search over the
   MLPClassifier (``learning_rate_init`` x ``alpha``) with the same epochs. Run once
   each (``--search-runs``); ``n_jobs=2`` reported. ``--quick``: 3 candidates, 50 epochs.
5. The issue-4 targets that keep holding: snapshot capture <= 1.05 x the same fit
   without it; ``predict_proba`` with 10 members on 1,000 rows <= 2 x with 1 member; on
   100,000 rows >= 2 x faster than set_weights + predict_on_batch per member.
   Reported: set_weights + model.predict per member on 1,000 rows (issue 4: >= 30 x).

P. The first ``predict_proba`` of a freshly fitted model in a warm process, for a member
   count (``n_cycles``) and/or a row count not seen before in the process: <= 20 ms
   (median of the fresh cases; the worst of the three kinds is the verdict).

N. ``n_networks`` (``--only networks``; issue 13), each configuration warmed up once:
   fit time with ``n_networks=4`` <= 1.5 x ``n_networks=1``, and with ``n_networks=10``
   <= 3 x, on the reference problem with target 1's settings (>= 7 runs, 3 with
   ``--quick``) and on digits with the default settings as in target 2 (5 runs, 3 with
   ``--quick``: each fit takes seconds); ``predict_proba`` on 1,000 rows with 4 networks
   x 10 snapshots (40 members) <= 3 x with one member (``n_networks=1``,
   ``n_members=1``), measured as in target 5.

Reported only (issue 4, not restated by issue 12): ``curve``, fit and predict against
MLPClassifier on 1k / 10k / 100k rows x 20 features; ``memory``, the snapshots of a
~1M-parameter MLP and the peak memory of predict_proba on 1M rows.
"""

import argparse
import gc
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

RESULTS = []  # (target, measure, value, goal, verdict)


def machine():
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import keras
    import numpy
    import scikeras
    import sklearn
    import tensorflow

    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return [
        f"CPU: {model}, {os.cpu_count()} logical cores; load average at start: {load}",
        f"Python {platform.python_version()}, TensorFlow {tensorflow.__version__}, Keras "
        f"{keras.__version__}, scikeras {scikeras.__version__}, scikit-learn "
        f"{sklearn.__version__}, numpy {numpy.__version__}",
    ]


CPU_TIMES = {}  # name -> process CPU seconds of the last interleaved() measurement


def interleaved(functions, runs, warmup=1):
    """Seconds of every function, ``runs`` rounds after ``warmup`` rounds, interleaved.

    The order alternates from round to round and garbage is collected before every
    timed call. Wall-clock seconds are returned; the process's CPU seconds (all threads) are kept in
    ``CPU_TIMES``: less sensitive to other processes sharing the cores.
    """
    for _ in range(warmup):
        for function in functions.values():
            function()
    times = {name: [] for name in functions}
    for name in functions:
        CPU_TIMES[name] = []
    order = list(functions.items())
    for _ in range(runs):
        # Alternate the order every round, and collect the previous call's garbage
        # before timing: neither side pays for the other's leftovers.
        order.reverse()
        for name, function in order:
            gc.collect()
            start, cpu = time.perf_counter(), time.process_time()
            function()
            times[name].append(time.perf_counter() - start)
            CPU_TIMES[name].append(time.process_time() - cpu)
    return times


def paired(times, numerator, denominator):
    """Median over rounds of the ratio of two interleaved measurements.

    Both were taken in the same round, one right after the other, so a burst of load
    from other processes affects both: steadier than the ratio of the two medians.
    """
    return statistics.median(
        a / b for a, b in zip(times[numerator], times[denominator], strict=True)
    )


def ratios(times, numerator, denominator):
    """(median of paired ratios, ratio of medians), printed; the first is the verdict's."""
    pair = paired(times, numerator, denominator)
    plain = statistics.median(times[numerator]) / statistics.median(times[denominator])
    print(f"  ratio: median of paired per-round ratios {pair:.2f}; ratio of medians {plain:.2f}")
    return pair


def describe(name, seconds, unit="s"):
    scale = 1000.0 if unit == "ms" else 1.0
    med = statistics.median(seconds) * scale
    return (
        f"  {name:<46} median {med:9.3f} {unit}  "
        f"(min {min(seconds) * scale:.3f}, max {max(seconds) * scale:.3f}, {len(seconds)} runs)"
    )


def verdict(target, measure, value, goal, ok, fmt="{:.2f}"):
    text = "PASS" if ok else "FAIL"
    RESULTS.append((target, measure, fmt.format(value), goal, text))
    print(f"  -> {measure}: {fmt.format(value)} (target {goal}): {text}")


def header(title):
    print()
    print(title)
    print("-" * len(title))


# -- the work --------------------------------------------------------------------------
def reference():
    from sksnapshot.experiments import reference_problem

    problem = reference_problem()
    X, y, X_test, y_test = problem.X_train, problem.y_train, problem.X_test, problem.y_test
    return X.astype("float32"), y, X_test.astype("float32"), y_test


#: Issue 12's targets compare the training program with MLPClassifier doing the same work:
#: one network (n_networks=1, the classifier's default until issue 14 made it 4).
ONE_NETWORK = {"n_networks": 1}

REFERENCE_FIT = dict(
    **ONE_NETWORK,
    hidden_layer_sizes=(50,),
    n_cycles=10,
    epochs=500,
    max_learning_rate=0.01,
    lr_update="batch",
    batch_size=32,
)


def snapshot_fit(X, y, seed, **params):
    from sksnapshot import SnapshotEnsembleClassifier

    return SnapshotEnsembleClassifier(**{**REFERENCE_FIT, **params}, random_state=seed).fit(X, y)


def mlp_fit(X, y, seed, hidden=(50,), epochs=500):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(
            hidden_layer_sizes=hidden,
            solver="sgd",
            momentum=0.9,
            batch_size=32,
            learning_rate_init=0.01,
            max_iter=epochs,
            tol=0,
            n_iter_no_change=epochs,
            random_state=seed,
        ).fit(X, y)


def keras_classifier_fit(X, y, seed):
    import keras
    from scikeras.wrappers import KerasClassifier

    def build(meta):
        return keras.Sequential(
            [
                keras.Input((meta["n_features_in_"],)),
                keras.layers.Dense(50, activation="relu"),
                keras.layers.Dense(meta["n_classes_"], activation="softmax"),
            ]
        )

    return KerasClassifier(
        build,
        loss="sparse_categorical_crossentropy",
        optimizer="sgd",
        optimizer__learning_rate=0.01,
        optimizer__momentum=0.9,
        epochs=500,
        batch_size=32,
        verbose=0,
        random_state=seed,
    ).fit(X, y)


DIGITS_NOTE = (
    "load_digits, train_test_split(test_size=0.2, random_state=0, stratify=y): 1,437 "
    "training rows, 360 test rows, 64 features, standardized (StandardScaler fitted on the "
    "training part)"
)
_DIGITS = []


def digits():
    """digits' training and test parts, standardized, float32 (see ``DIGITS_NOTE``)."""
    if not _DIGITS:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler

        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.2, random_state=0, stratify=y
        )
        scaler = StandardScaler().fit(X_train)
        X_train = scaler.transform(X_train).astype("float32")
        X_test = scaler.transform(X_test).astype("float32")
        _DIGITS.extend([X_train, y_train, X_test, y_test])
    return tuple(_DIGITS)


DIGITS_MLP = dict(
    solver="sgd",
    batch_size=32,
    max_iter=200,
    tol=0,
    n_iter_no_change=200,
    hidden_layer_sizes=(100,),
    momentum=0.9,
    learning_rate_init=0.025,  # the mean of the default cosine schedule, 0.05 to 0
)


def format_params(params, only=None):
    keys = only if only is not None else params
    return ", ".join(f"{key}={params[key]!r}" for key in keys)


def digits_mlp(seed, epochs=200):
    from sklearn.neural_network import MLPClassifier

    params = {**DIGITS_MLP, "max_iter": epochs, "n_iter_no_change": epochs}
    return MLPClassifier(**params, random_state=seed)


def digits_mlp_fit(X, y, seed):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return digits_mlp(seed).fit(X, y)


def default_fit(X, y, seed, **params):
    """``SnapshotEnsembleClassifier`` with its default settings but ``random_state``.

    One network (``ONE_NETWORK``) unless ``params`` say otherwise: issue 12's "default
    settings" are those of its time; issue 14's defaults (4 networks) are reported too.
    """
    from sksnapshot import SnapshotEnsembleClassifier

    return SnapshotEnsembleClassifier(**{**ONE_NETWORK, **params}, random_state=seed).fit(X, y)


# -- targets -----------------------------------------------------------------------------
def target_1(args):
    header("1. Reference fit (100 rows, hidden 50, 500 epochs, 10 cycles, batch 32, per step)")
    X, y, _, _ = reference()
    seed = iter(range(10**6))
    times = interleaved(
        {
            "sksnapshot SnapshotEnsembleClassifier.fit": lambda: snapshot_fit(X, y, next(seed)),
            "sklearn MLPClassifier.fit (same work)": lambda: mlp_fit(X, y, next(seed)),
        },
        runs=args.runs,
    )
    for name, seconds in times.items():
        print(describe(name, seconds))
    names = list(times)
    ratio = ratios(times, *names)
    verdict("1", "reference fit / MLPClassifier", ratio, "<= 0.25", ratio <= 0.25)
    fit = statistics.median(times[names[0]])
    if args.quick:
        print("  (plain KerasClassifier skipped with --quick)")
        return
    plain = []
    for run in range(3):
        start = time.perf_counter()
        keras_classifier_fit(X, y, run)
        plain.append(time.perf_counter() - start)
    print(describe("plain scikeras KerasClassifier.fit", plain) + " [3 runs, no warm-up]")
    speedup = statistics.median(plain) / fit
    print(f"  -> KerasClassifier / fit: {speedup:.1f} (issue 4: >= 20; reported)")
    RESULTS.append(("1", "KerasClassifier / fit", f"{speedup:.1f}", "issue 4: >= 20", "info"))


def target_2(args):
    header("2. Default-settings fit on digits (1,437 rows x 64, hidden 100, 200 epochs, batch 32)")
    X, y, X_test, y_test = digits()
    print(f"  digits: {DIGITS_NOTE}")
    print(f"  MLPClassifier({format_params(DIGITS_MLP)})")
    print(
        "  SnapshotEnsembleClassifier(n_networks=1, random_state=seed): every other setting"
        " its default (issue 12's default settings: one network); reported: issue 14's"
        " defaults (n_networks='auto': 4 networks)"
    )
    seed = iter(range(10**6))
    fitted = {}

    def ours():
        fitted["ours"] = default_fit(X, y, next(seed))

    def theirs():
        fitted["mlp"] = digits_mlp_fit(X, y, next(seed))

    def defaults():
        fitted["defaults"] = default_fit(X, y, next(seed), n_networks="auto")

    times = interleaved(
        {
            "SnapshotEnsembleClassifier(n_networks=1).fit": ours,
            "MLPClassifier.fit (quoted)": theirs,
            "SnapshotEnsembleClassifier().fit, 4 networks": defaults,
        },
        runs=args.runs,
    )
    for name, seconds in times.items():
        print(describe(name, seconds))
    print(
        f"  test accuracy (360 rows, last fits): SnapshotEnsembleClassifier "
        f"{fitted['ours'].score(X_test, y_test):.3f}, MLPClassifier "
        f"{fitted['mlp'].score(X_test, y_test):.3f}, 4 networks "
        f"{fitted['defaults'].score(X_test, y_test):.3f}"
    )
    names = list(times)
    ratio = ratios(times, names[0], names[1])
    verdict("2", "digits default fit (one network) / MLPClassifier", ratio, "<= 0.5", ratio <= 0.5)
    four = ratios(times, names[2], names[1])
    print(f"  -> issue 14's defaults (4 networks) / MLPClassifier: {four:.2f} (reported)")
    RESULTS.append(
        ("2", "digits fit at issue 14's defaults / MLPClassifier", f"{four:.2f}", "", "info")
    )


FRESH_FIT = textwrap.dedent(
    """
    import os, sys, time
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    start = time.perf_counter()
    sys.path.insert(0, {benchmarks!r})
    from run import digits
    from sksnapshot import SnapshotEnsembleClassifier
    X, y, _, _ = digits()
    imported = time.perf_counter()
    SnapshotEnsembleClassifier(n_networks=1, random_state=0).fit(X, y)
    first = time.perf_counter()
    SnapshotEnsembleClassifier(n_networks=1, random_state=1).fit(X, y)
    print(imported - start, first - imported, time.perf_counter() - first)
    """
)


def target_3(args):
    header("3. A fit on a new row count (a CV fold) against a warm fit of the same size")
    import numpy as np

    X, y, _, _ = digits()
    code = FRESH_FIT.format(benchmarks=os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode == 0:
        imported, first, second = map(float, out.stdout.split()[-3:])
        print(
            f"  fresh process, default settings on digits: imports and data {imported:.2f} s "
            f"(excluded), first fit {first:.2f} s, second fit {second:.2f} s"
        )
        RESULTS.append(
            (
                "3",
                "first fit in a fresh process (imports excluded)",
                f"{first:.2f} s",
                f"report (2nd fit {second:.2f} s)",
                "info",
            )
        )
    else:
        print("  fresh process: failed\n" + out.stderr[-2000:])
    rng = np.random.default_rng(0)
    base = int(0.8 * len(X))
    default_fit(X[:base], y[:base], 0)  # warm-up: the process has fitted 80 % of the rows
    first = int(0.81 * len(X))
    counts = iter(range(first, len(X)))
    seed = iter(range(10**6))
    times = {"new row count": [], "warm, same rows": []}
    for _ in range(args.runs):
        # A row count the process has not fitted before, then the same rows again.
        rows = np.sort(rng.choice(len(X), next(counts), replace=False))
        X_fold, y_fold, state = X[rows], y[rows], next(seed)
        for name in times:  # the new count must come first: a fixed order
            gc.collect()
            start = time.perf_counter()
            default_fit(X_fold, y_fold, state)
            times[name].append(time.perf_counter() - start)
    print(
        f"  digits, default settings; warm-up fit on {base} rows (80 %), then "
        f"{first}..{first + args.runs - 1} rows (81 % and up), one new count per round"
    )
    for name, seconds in times.items():
        print(describe(f"fit, {name}", seconds))
    ratio = ratios(times, *times)
    verdict("3", "fit on a new row count / warm fit", ratio, "<= 1.2", ratio <= 1.2)


SEARCH_GRIDS = {
    "ours": {"max_learning_rate": [0.02, 0.05, 0.1], "n_cycles": [5, 10]},
    "mlp": {"learning_rate_init": [0.01, 0.025, 0.05], "alpha": [1e-4, 1e-3]},
}


def target_4(args):
    epochs = 50 if args.quick else 200
    grids = {name: dict(grid) for name, grid in SEARCH_GRIDS.items()}
    if args.quick:  # 3 candidates: the second parameter at its first value
        grids["ours"]["n_cycles"] = grids["ours"]["n_cycles"][:1]
        grids["mlp"]["alpha"] = grids["mlp"]["alpha"][:1]
    candidates = len(grids["ours"]["max_learning_rate"]) * len(grids["ours"]["n_cycles"])
    header(f"4. GridSearchCV, {candidates} candidates x 5 folds on digits, {epochs} epochs")
    from sklearn.model_selection import GridSearchCV

    from sksnapshot import SnapshotEnsembleClassifier

    X, y, _, _ = digits()
    if args.quick:
        print("  --quick: 3 candidates instead of 6 and 50 epochs per fit instead of 200")
    print("  (each search: candidates x 5 fits, then the refit of the best on all rows)")
    ours = SnapshotEnsembleClassifier(epochs=epochs, n_networks=1, random_state=0)
    theirs = digits_mlp(0, epochs)
    print(
        f"  SnapshotEnsembleClassifier(epochs={epochs}, n_networks=1, random_state=0)"
        f" over {grids['ours']}"
    )
    mlp_params = format_params(theirs.get_params(), DIGITS_MLP)
    print(f"  MLPClassifier({mlp_params}) over {grids['mlp']}")
    # The MLP stops at max_iter on purpose: silence its ConvergenceWarning, in the
    # workers of n_jobs=2 too (they inherit the environment).
    warned = os.environ.get("PYTHONWARNINGS")
    os.environ["PYTHONWARNINGS"] = "ignore::UserWarning"
    searches = {}

    def search(name, estimator, n_jobs):
        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                searches[name] = GridSearchCV(estimator, grids[name], cv=5, n_jobs=n_jobs).fit(X, y)

        return run

    runs = args.search_runs
    for n_jobs in (1, 2):
        times = interleaved(
            {
                f"ours n_jobs={n_jobs}": search("ours", ours, n_jobs),
                f"mlp n_jobs={n_jobs}": search("mlp", theirs, n_jobs),
            },
            runs=runs,
            warmup=0,
        )
        for name, seconds in times.items():
            label = "SnapshotEnsembleClassifier" if name.startswith("ours") else "MLPClassifier"
            print(describe(f"GridSearchCV({label}), n_jobs={n_jobs}", seconds))
        for name in ("ours", "mlp"):
            found = searches[name]
            print(f"    {name}: best CV accuracy {found.best_score_:.3f} at {found.best_params_}")
        ratio = ratios(times, *times)
        measure = f"GridSearchCV n_jobs={n_jobs} / MLPClassifier's"
        if n_jobs == 1:
            verdict("4", measure, ratio, "<= 0.5", ratio <= 0.5)
        else:
            print(f"  -> {measure}: {ratio:.2f} (reported)")
            RESULTS.append(("4", measure, f"{ratio:.2f}", "report", "info"))
    if warned is None:
        os.environ.pop("PYTHONWARNINGS")
    else:
        os.environ["PYTHONWARNINGS"] = warned
    print(
        f"  ({runs} run(s) of each search, no warm-up; --search-runs to change. n_jobs=2 "
        "includes the worker processes' start, imports and first traces, as a user pays them)"
    )


def target_5(args):
    capture_target(args)
    predict_target(args)


def spread(counts, runs):
    """``runs`` row counts: ``counts`` in turn, shifted by 3 rows on every pass."""
    return iter([counts[i % len(counts)] + 3 * (i // len(counts)) for i in range(runs)])


def first_predict(args):
    header("P. First predict_proba of a freshly fitted model in a warm process")
    import numpy as np

    X, y, X_test, _ = digits()
    X_all = np.concatenate([X, X_test])  # 1,797 rows to predict on
    # Warm the process: a fit with 10 members and predictions on the 360 test rows.
    warm = default_fit(X, y, 0, n_cycles=10, epochs=10)
    warm.predict_proba(X_test)
    warm.predict_proba(X_test)
    runs = args.runs
    # Counts no other target uses (members: 10, 5, 1; rows: 100, 1,000, 100,000, 1M,
    # digits' 360 test rows, its 1,437 training rows and their CV folds). The new row
    # counts are spread over 77 to 1,750 rows: whatever padding or bucketing of rows the
    # prediction does, several of them are new shapes.
    kinds = {
        "new member count, seen rows": (range(11, 999, 2), [len(X_test)]),
        "seen member count, new rows": ([10], [77, 150, 299, 610, 1250, 97, 190, 450, 900, 1700]),
        "new member count, new rows": (
            range(12, 999, 2),
            [83, 170, 330, 680, 1400, 111, 230, 470, 950, 1750],
        ),
    }
    worst = 0.0
    for kind, (members, row_counts) in kinds.items():
        members = iter([members[i % len(members)] for i in range(runs)])
        row_counts = spread(row_counts, runs)
        first, second = [], []
        for run in range(runs):
            n_cycles, n_rows = next(members), next(row_counts)
            clf = default_fit(X, y, run, n_cycles=n_cycles, epochs=n_cycles)
            rows = X_all[:n_rows]
            for spent in (first, second):
                gc.collect()
                start = time.perf_counter()
                clf.predict_proba(rows)
                spent.append(time.perf_counter() - start)
        print(describe(f"{kind}: first call", first, "ms"))
        print(describe(f"{kind}: second call", second, "ms"))
        median = statistics.median(first)
        worst = max(worst, median)
        RESULTS.append(
            (
                "P",
                f"first predict_proba, {kind}",
                f"{median * 1e3:.1f} ms (max {max(first) * 1e3:.1f})",
                "",
                "info",
            )
        )
    print(
        "  (one fresh fit per case: n_cycles members, one epoch per cycle, on digits; "
        "new member counts 11, 13, ... and 12, 14, ...)"
    )
    verdict(
        "P",
        "first predict_proba, worst kind (median)",
        worst * 1e3,
        "<= 20 ms",
        worst <= 0.020,
        fmt="{:.1f} ms",
    )


def capture_target(args):
    header("5a. Snapshot capture: the same fit with and without copying the snapshots")
    import sksnapshot._snapshots as snapshots

    X, y, _, _ = reference()
    capture = snapshots.SnapshotCallback.on_epoch_end
    spent = []

    def timed_capture(self, epoch, logs=None):
        start = time.perf_counter()
        capture(self, epoch, logs)
        spent[-1] += time.perf_counter() - start

    def with_capture():
        spent.append(0.0)
        snapshots.SnapshotCallback.on_epoch_end = timed_capture
        try:
            assert len(snapshot_fit(X, y, 0).snapshots_) == 10
        finally:
            snapshots.SnapshotCallback.on_epoch_end = capture

    def without_capture():
        snapshots.SnapshotCallback.on_epoch_end = lambda self, epoch, logs=None: None
        try:
            snapshot_fit(X, y, 0)
        finally:
            snapshots.SnapshotCallback.on_epoch_end = capture

    times = interleaved(
        {"fit with capture": with_capture, "fit without capture": without_capture},
        runs=max(args.runs, 15),
    )
    for name, seconds in times.items():
        print(describe(name, seconds))
    cost = statistics.median(spent)
    fit = statistics.median(times["fit with capture"])
    print(
        f"  time spent copying the 10 snapshots, measured inside the fit: {cost * 1e3:.2f} ms "
        f"({cost / fit:.1%} of the fit)"
    )
    ratio = ratios(times, "fit with capture", "fit without capture")
    cpu = paired(CPU_TIMES, "fit with capture", "fit without capture")
    print(f"  process CPU time: median of paired per-round ratios {cpu:.2f}")
    verdict("5", "capture: with / without capture", ratio, "<= 1.05", ratio <= 1.05)
    RESULTS.append(
        ("5", "capture time measured inside the fit / fit", f"{cost / fit:.1%}", "", "info")
    )
    RESULTS.append(("5", "capture: with / without, process CPU time", f"{cpu:.2f}", "", "info"))


def predict_target(args):
    header("5b. predict_proba: 10 members against 1, against per-member Keras loops")
    import keras
    import numpy as np

    X, y, X_test, _ = reference()
    clf = snapshot_fit(X, y, 0)
    twin = keras.models.clone_model(clf.model_)
    runs = 50 if not args.quick else 10

    def members(n):
        def predict():
            clf.set_params(n_members=n).predict_proba(rows)

        return predict

    def keras_loop(method):
        def predict():
            outputs = []
            for weights in clf.snapshots_:
                twin.set_weights(weights)
                if method == "predict":
                    outputs.append(twin.predict(rows, verbose=0))  # Keras' default batch 32
                else:
                    outputs.append(twin.predict_on_batch(rows))
            return np.mean(outputs, axis=0)

        return predict

    rows = X_test  # the 1,000 test rows
    # Steady state: the forward's first call compiles its other row sizes in a background
    # thread (sksnapshot/_inference.py); wait for it so it is not timed here.
    from sksnapshot._inference import _forward_for

    clf.predict_proba(rows)
    _forward_for(clf.model_).wait_precompiled()
    times = interleaved({"10 members": members(None), "1 member": members(1)}, runs=runs)
    naive = interleaved({"naive": keras_loop("predict")}, runs=max(3, args.runs // 2))
    print(describe("predict_proba, 10 members, 1,000 rows", times["10 members"], "ms"))
    print(describe("predict_proba, 1 member, 1,000 rows", times["1 member"], "ms"))
    print(describe("set_weights + model.predict per member (10)", naive["naive"], "ms"))
    ratio = ratios(times, "10 members", "1 member")
    verdict("5", "1k rows: 10 members / 1 member", ratio, "<= 2", ratio <= 2)
    speedup = statistics.median(naive["naive"]) / statistics.median(times["10 members"])
    print(f"  -> 1k rows: naive loop / 10 members: {speedup:.1f} (issue 4: >= 30; reported)")
    RESULTS.append(
        ("5", "1k rows: naive loop / 10 members", f"{speedup:.1f}", "issue 4: >= 30", "info")
    )

    rows = np.random.default_rng(0).normal(scale=5, size=(100_000, 2)).astype(np.float32)
    times = interleaved(
        {
            "10 members": members(None),
            "1 member": members(1),
            "loop": keras_loop("predict_on_batch"),
        },
        runs=max(5, args.runs),
    )
    print(describe("predict_proba, 10 members, 100,000 rows", times["10 members"], "ms"))
    print(describe("predict_proba, 1 member, 100,000 rows", times["1 member"], "ms"))
    print(describe("set_weights + predict_on_batch per member (10)", times["loop"], "ms"))
    ten, one = statistics.median(times["10 members"]), statistics.median(times["1 member"])
    print(
        f"  time per member: {ten / 10 * 1e3:.2f} ms with 10 members against "
        f"{one * 1e3:.2f} ms for 1 member alone ({ten / 10 / one:.2f} x)"
    )
    speedup = ratios(times, "loop", "10 members")
    verdict("5", "100k rows: predict_on_batch loop / 10 members", speedup, ">= 2", speedup >= 2)
    clf.set_params(n_members=None)


def curve_point(n_rows, runs, warmup):
    """Median fit and predict_proba seconds of both estimators on ``n_rows`` rows."""
    import numpy as np
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n_rows, n_features=20, n_informative=10, n_classes=3, random_state=0
    )
    X = X.astype(np.float32)
    fitted = {}

    def ours():
        fitted["ours"] = snapshot_fit(X, y, 0, hidden_layer_sizes=(100,), epochs=50, n_cycles=5)

    def theirs():
        fitted["mlp"] = mlp_fit(X, y, 0, hidden=(100,), epochs=50)

    fits = interleaved({"fit": ours, "MLP fit": theirs}, runs=runs, warmup=warmup)
    predicts = interleaved(
        {
            "predict": lambda: fitted["ours"].predict_proba(X),
            "MLP predict": lambda: fitted["mlp"].predict_proba(X),
        },
        runs=max(5, runs),
    )
    medians = {k: statistics.median(v) for k, v in {**fits, **predicts}.items()}
    medians["fit ratio"] = paired(fits, "fit", "MLP fit")
    medians["predict ratio"] = paired(predicts, "predict", "MLP predict")
    return medians


def curve(args):
    header("Curve (issue 4, reported): 20 features, hidden 100, 50 epochs, 5 cycles, batch 32")
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    for n_rows in sizes:
        runs = (2 if args.quick else args.runs) if n_rows < 100_000 else 3
        medians = curve_point(n_rows, runs, warmup=1 if n_rows == sizes[0] else 0)
        print(
            f"  {n_rows:>7} rows: fit {medians['fit']:8.3f} s vs MLP {medians['MLP fit']:8.3f} s "
            f"({medians['fit ratio']:.2f} x);  predict_proba "
            f"{medians['predict'] * 1e3:8.2f} ms vs MLP {medians['MLP predict'] * 1e3:8.2f} ms "
            f"({medians['predict ratio']:.2f} x)  [{runs} fit runs]"
        )
    print("  (x: median of paired per-round ratios)")
    ratio = medians["fit ratio"]
    verdict(
        "curve", f"{n_rows} rows: fit / MLPClassifier", ratio, "issue 4: <= 1 (aim)", ratio <= 1
    )


MEMORY_SNAPSHOTS = textwrap.dedent(
    """
    import gc, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np
    from sksnapshot import SnapshotEnsembleClassifier

    def rss(field="VmRSS"):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024

    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 100)).astype(np.float32)
    y = rng.integers(0, 10, 500)
    clf = SnapshotEnsembleClassifier(hidden_layer_sizes=(1000, 900), n_cycles=10, epochs=10,
                                     batch_size=500, n_networks=1, random_state=0).fit(X, y)
    params = clf.model_.count_params()
    held = sum(a.nbytes for s in clf.snapshots_ for a in s)
    held += sum(sys.getsizeof(s) for s in clf.snapshots_) + sys.getsizeof(clf.snapshots_)
    held += sum(sys.getsizeof(a) - a.nbytes for s in clf.snapshots_ for a in s)
    gc.collect()
    before = rss()
    del clf.snapshots_
    gc.collect()
    print(params, held, before - rss())
    """
)

MEMORY_PREDICT = textwrap.dedent(
    """
    import os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np
    from sksnapshot import SnapshotEnsembleClassifier

    def status(field):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 20)).astype(np.float32)
    y = rng.integers(0, 3, 2000)
    clf = SnapshotEnsembleClassifier(hidden_layer_sizes=(100,), n_cycles=10, epochs=10,
                                     n_networks=1, random_state=0).fit(X, y)
    clf.predict_proba(X[:10000])  # compile the functions first
    big = rng.normal(size=(1_000_000, 20)).astype(np.float32)
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # reset the peak (VmHWM) to the current resident size
        reset = True
    except OSError:
        reset = False
    before = status("VmRSS")
    proba = clf.predict_proba(big)
    print(int(reset), before, status("VmHWM"), proba.nbytes, big.nbytes)
    """
)


def memory(args):
    header(
        "Memory (issue 4, reported; fresh subprocesses, resident set size from /proc/self/status)"
    )
    out = subprocess.run([sys.executable, "-c", MEMORY_SNAPSHOTS], capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr[-2000:])
        verdict("memory", "snapshots / (10 x params x 4 B)", float("nan"), "issue 4: <= 1.1", False)
    else:
        params, held, freed = map(int, out.stdout.split()[-3:])
        budget = 10 * params * 4
        print(
            f"  MLP 100 -> 1000 -> 900 -> 10: {params:,} parameters; 10 x params x 4 B = "
            f"{budget / 2**20:.1f} MiB"
        )
        print(
            f"  snapshots held (arrays, headers, lists): {held / 2**20:.2f} MiB; resident "
            f"memory given back when they are deleted: {freed / 2**20:.1f} MiB"
        )
        verdict(
            "memory",
            "snapshots / (10 x params x 4 B)",
            held / budget,
            "issue 4: <= 1.1",
            held <= 1.1 * budget,
        )
    out = subprocess.run([sys.executable, "-c", MEMORY_PREDICT], capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr[-2000:])
        return
    reset, before, peak, result, data = map(int, out.stdout.split()[-5:])
    extra = peak - before
    print(
        f"  predict_proba on 1,000,000 rows x 20 features (input {data / 2**20:.0f} MiB, "
        f"output {result / 2**20:.0f} MiB), 10 members, hidden 100:"
    )
    print(
        f"  peak resident memory during the call: +{extra / 2**20:.0f} MiB over the "
        f"{before / 2**20:.0f} MiB before it"
        + ("" if reset else " (peak not resettable here: includes the fit's)")
    )
    print(
        f"  (all rows at once would hold 10 x 1M x 100 hidden float32 = "
        f"{10 * 1_000_000 * 100 * 4 / 2**30:.1f} GiB of activations)"
    )
    RESULTS.append(
        (
            "memory",
            "predict_proba on 1M rows: peak extra memory",
            f"{extra / 2**20:.0f} MiB",
            "bounded (report)",
            "info",
        )
    )


RECORDED_MEAN, RECORDED_STD, RECORDED_SEEDS = 0.810, 0.004, 10  # REFERENCE.md


def accuracy(args):
    header("1. Accuracy of the reference experiment (REFERENCE_PARAMS: per-epoch rate 0.01)")
    import keras
    import numpy as np

    from sksnapshot import SnapshotEnsembleClassifier, cycle_lengths
    from sksnapshot._mlp import build_mlp

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
    from _plain import plain_snapshot_fit  # the plain Model.fit reference (tests/_plain.py)

    from sksnapshot.experiments import REFERENCE_PARAMS, snapshot_scores

    X, y, X_test, y_test = reference()
    seeds = range(5 if args.quick else 10)
    fast = []
    for seed in seeds:
        clf = SnapshotEnsembleClassifier(**REFERENCE_PARAMS, random_state=seed).fit(X, y)
        scores = snapshot_scores(clf, X_test, y_test)
        fast.append((scores["member_accuracy"][-1], scores["ensemble_accuracy"][-1]))
    plain = []
    for seed in range(0 if args.quick else 3):
        keras.utils.set_random_seed(seed)
        model = build_mlp(2, (50,), "relu", 3, "softmax")
        model.compile(
            loss="sparse_categorical_crossentropy",
            optimizer=keras.optimizers.SGD(0.0, momentum=0.9),
        )
        unit_rates, _ = SnapshotEnsembleClassifier(**REFERENCE_PARAMS).simulate_learning_rates(100)
        snapshots, _ = plain_snapshot_fit(
            model,
            X,
            y,
            step_rates=np.repeat(unit_rates, 4),
            step_lengths=np.asarray(cycle_lengths(500, 10)) * 4,
            epochs=500,
            batch_size=32,
        )
        probas = []
        for weights in snapshots:
            model.set_weights(weights)
            probas.append(model.predict(X_test, batch_size=1000, verbose=0))
        plain.append(
            (
                np.mean(probas[-1].argmax(1) == y_test),
                np.mean(np.mean(probas, 0).argmax(1) == y_test),
            )
        )
    for name, scores in (("fast path (the estimator)", fast), ("plain Keras path", plain)):
        if not scores:
            continue
        scores = np.asarray(scores)
        print(
            f"  {name:<28} {len(scores):>2} seeds: final snapshot {scores[:, 0].mean():.3f} "
            f"+- {scores[:, 0].std():.3f}, all-10 ensemble {scores[:, 1].mean():.3f} "
            f"+- {scores[:, 1].std():.3f}"
        )
    print(
        f"  recorded (REFERENCE.md, {RECORDED_SEEDS} seeds, Keras fit per epoch): final "
        f"{RECORDED_MEAN:.3f} +- {RECORDED_STD:.3f}, ensemble {RECORDED_MEAN:.3f} +- "
        f"{RECORDED_STD:.3f}"
    )
    # Unchanged within noise: the difference of the means within two standard errors of
    # the difference (a two-sample test at about 5 %).
    fast = np.asarray(fast)
    for column, name in ((0, "final snapshot"), (1, "all-10 ensemble")):
        scores = fast[:, column]
        error = (scores.var(ddof=1) / len(scores) + RECORDED_STD**2 / RECORDED_SEEDS) ** 0.5
        shift = scores.mean() - RECORDED_MEAN
        verdict(
            "1",
            f"accuracy, {name}, {len(scores)} seeds: mean - {RECORDED_MEAN:.3f}",
            shift,
            f"within 2 SE ({2 * error:.3f})",
            abs(shift) <= 2 * error,
            fmt="{:+.3f}",
        )


def networks_fits(fit, X, y, runs, counts=(1, 4, 10)):
    """Interleaved fits with ``n_networks`` in ``counts``, after one warm-up round each.

    The warm-up compiles each structure's program; the timed fits should reuse it (a fit
    that compiles again shows as about a second more than its neighbours: min and max).
    """
    seed = iter(range(10**6))
    times = interleaved(
        {
            f"n_networks={count}": (lambda count=count: fit(X, y, next(seed), n_networks=count))
            for count in counts
        },
        runs=runs,
    )
    for name, seconds in times.items():
        print(describe(f"fit, {name}", seconds))
    print(
        "  process CPU time per fit (median): "
        + ", ".join(f"{name} {statistics.median(CPU_TIMES[name]):.2f} s" for name in times)
    )
    return times


def networks_target(args):
    header("N. n_networks: N default MLPs side by side against one (fit and predict_proba)")
    goals = {4: 1.5, 10: 3.0}

    def check(times, problem):
        for count, goal in goals.items():
            print(f"  n_networks={count} / n_networks=1:")
            ratio = ratios(times, f"n_networks={count}", "n_networks=1")
            cpu = paired(CPU_TIMES, f"n_networks={count}", "n_networks=1")
            print(f"  process CPU time: median of paired per-round ratios {cpu:.2f}")
            verdict(
                "networks",
                f"{problem} fit: n_networks={count} / 1",
                ratio,
                f"<= {goal}",
                ratio <= goal,
            )

    # 1. The reference problem with target 1's settings.
    X, y, X_test, _ = reference()
    print(f"  reference problem, target 1's settings: {format_params(REFERENCE_FIT)}")
    check(networks_fits(snapshot_fit, X, y, args.runs), "reference")

    # 2. digits with the estimator's default settings (as target 2).
    X_digits, y_digits, _, _ = digits()
    runs = 3 if args.quick else 5
    print(
        f"  digits ({DIGITS_NOTE}); SnapshotEnsembleClassifier(n_networks=N, random_state=seed),"
        f" every other setting its default; {runs} timed runs (not 7: each fit takes seconds)"
    )
    check(networks_fits(default_fit, X_digits, y_digits, runs), "digits default")

    # 3. predict_proba on 1,000 rows: 4 networks x 10 snapshots against one member, as in
    # target 5's predict_target.
    from sksnapshot._inference import _forward_for

    rows = X_test  # the reference problem's 1,000 test rows
    many = snapshot_fit(X, y, 0, n_networks=4)
    one = snapshot_fit(X, y, 0).set_params(n_members=1)
    n_members = many.member_predict_proba(rows).shape[0]
    for clf in (many, one):  # steady state: compiled, the other row sizes too
        clf.predict_proba(rows)
        _forward_for(clf.model_).wait_precompiled()
    print(
        f"  reference problem: n_networks=4 x {len(many.snapshots_)} snapshots "
        f"({n_members} members) against n_networks=1 predicting with n_members=1"
    )
    names = {"4 networks x 10 snapshots": many, "1 member": one}
    times = interleaved(
        {name: (lambda clf=clf: clf.predict_proba(rows)) for name, clf in names.items()},
        runs=50 if not args.quick else 10,
    )
    for name, seconds in times.items():
        print(describe(f"predict_proba, {name}, 1,000 rows", seconds, "ms"))
    ratio = ratios(times, *names)
    verdict("networks", "1k rows: 40 members (4 x 10) / 1 member", ratio, "<= 3", ratio <= 3)


ORDER = ["1", "2", "3", "4", "5", "P", "networks", "curve", "memory"]  # the summary table's


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and sizes")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per measurement")
    parser.add_argument(
        "--search-runs", type=int, default=1, help="timed runs of each search (target 4)"
    )
    parser.add_argument(
        "--only",
        default=None,
        help="comma-separated targets to run: 1, accuracy, 2, 3, 4, 5 (or its parts capture "
        "and proba), P, networks, curve, memory (default: all; with --quick all but curve "
        "and memory)",
    )
    args = parser.parse_args(argv)
    args.runs = args.runs or (3 if args.quick else 7)
    if args.only is None:
        args.only = "1,accuracy,2,3,4,5,P,networks" + ("" if args.quick else ",curve,memory")
    start = time.perf_counter()
    print("sksnapshot benchmarks (issue 12): " + " ".join(["python", *sys.argv]))
    for line in machine():
        print(line)
    print(f"Timed runs per measurement: {args.runs} (median, after one warm-up round)")
    steps = {
        "1": target_1,
        "accuracy": accuracy,
        "2": target_2,
        "3": target_3,
        "4": target_4,
        "5": target_5,
        "capture": capture_target,
        "proba": predict_target,
        "p": first_predict,
        "networks": networks_target,
        "curve": curve,
        "memory": memory,
    }
    for name in args.only.split(","):
        steps[name.strip().lower()](args)
    header("Summary")
    print("| target | measure | value | goal | result |")
    print("|---|---|---|---|---|")
    for row in sorted(RESULTS, key=lambda row: ORDER.index(row[0])):
        print("| " + " | ".join(row) + " |")
    print(f"\nTotal wall time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
