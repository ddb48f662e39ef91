"""Speed and memory of sksnapshot against scikit-learn's MLP and plain Keras (issue 4).

Every target is measured side by side in one process (the compared fits interleaved,
round after round), as the median of several runs after a warm-up, and printed with its
ratio and PASS/FAIL. The verdict's ratio is the median of the per-round ratios (both
sides of a round share any burst of load from other processes); the ratio of the medians
is printed next to it. Memory is measured in fresh subprocesses (TensorFlow's allocations
are invisible to ``tracemalloc``: resident-set sizes from ``/proc/self/status``).

Usage::

    python benchmarks/run.py            # everything (about 10 minutes on 2 cores)
    python benchmarks/run.py --quick    # fewer runs, no 100k-row fits, no plain Keras

Targets (issue 4):

1. Reference fit (100 rows, hidden 50, 500 epochs, 10 cycles, batch 32, per-batch
   schedule) <= 1.5 x MLPClassifier doing the same work, and >= 20 x faster than a plain
   scikeras KerasClassifier fit of the same network, epochs and batch size.
2. Snapshot capture: the same fit with capture <= 1.05 x without it.
3. predict_proba with 10 members on 1,000 rows <= 2 x with 1 member and >= 30 x faster
   than set_weights + model.predict per member; on 100,000 rows >= 2 x faster than
   set_weights + predict_on_batch per member (time per member reported).
4. Fit and predict against MLPClassifier on 1k / 10k / 100k rows x 20 features (hidden 100,
   50 epochs, 5 cycles): the curve; at 100k rows the aim is <= 1 x.
5. Memory: the snapshots of a ~1M-parameter MLP with 10 cycles <= 1.1 x (10 x params x 4
   bytes); the peak memory of predict_proba on 1M rows (bounded: chunks of 8192 rows).

Also: the accuracy of the reference experiment over seeds, fast path against the plain
Keras path (``tests/_plain.py``), next to the figures in REFERENCE.md.
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


REFERENCE_FIT = dict(
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


# -- targets -----------------------------------------------------------------------------
def target_1(args):
    header("1. Reference fit (100 rows, hidden 50, 500 epochs, 10 cycles, batch 32, per step)")
    X, y, _, _ = reference()
    code = textwrap.dedent(
        """
        import os, time
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        start = time.perf_counter()
        from sksnapshot import SnapshotEnsembleClassifier
        from sksnapshot.experiments import reference_problem
        imported = time.perf_counter()
        problem = reference_problem()
        X, y = problem.X_train, problem.y_train
        SnapshotEnsembleClassifier(hidden_layer_sizes=(50,), n_cycles=10, epochs=500,
                                   max_learning_rate=0.01, random_state=0).fit(X, y)
        print(imported - start, time.perf_counter() - imported)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode == 0:
        imported, first = map(float, out.stdout.split()[-2:])
        print(
            f"  fresh process: import {imported:.2f} s, first fit {first:.2f} s "
            "(tracing the training program and the model, once per process)"
        )
    else:
        print("  fresh process: failed\n" + out.stderr[-2000:])
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
    verdict("1", "fit / MLPClassifier", ratio, "<= 1.5", ratio <= 1.5)
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
    verdict("1", "KerasClassifier / fit", speedup, ">= 20", speedup >= 20)


def target_2(args):
    header("2. Snapshot capture: the same fit with and without copying the snapshots")
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
    verdict("2", "with / without capture", ratio, "<= 1.05", ratio <= 1.05)
    RESULTS.append(
        ("2", "capture time measured inside the fit / fit", f"{cost / fit:.1%}", "", "info")
    )
    RESULTS.append(("2", "with / without capture, process CPU time", f"{cpu:.2f}", "", "info"))


def target_3(args):
    header("3. predict_proba: 10 members against 1, against per-member Keras loops")
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
    times = interleaved({"10 members": members(None), "1 member": members(1)}, runs=runs)
    naive = interleaved({"naive": keras_loop("predict")}, runs=max(3, args.runs // 2))
    print(describe("predict_proba, 10 members, 1,000 rows", times["10 members"], "ms"))
    print(describe("predict_proba, 1 member, 1,000 rows", times["1 member"], "ms"))
    print(describe("set_weights + model.predict per member (10)", naive["naive"], "ms"))
    ratio = ratios(times, "10 members", "1 member")
    verdict("3", "1k rows: 10 members / 1 member", ratio, "<= 2", ratio <= 2)
    speedup = statistics.median(naive["naive"]) / statistics.median(times["10 members"])
    verdict("3", "1k rows: naive loop / 10 members", speedup, ">= 30", speedup >= 30)

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
    verdict("3", "100k rows: predict_on_batch loop / 10 members", speedup, ">= 2", speedup >= 2)
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


def target_4(args):
    header("4. Larger data: 20 features, hidden 100, 50 epochs, 5 cycles, batch 32")
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
    verdict("4", f"{n_rows} rows: fit / MLPClassifier", ratio, "<= 1 (aim)", ratio <= 1)


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
                                     batch_size=500, random_state=0).fit(X, y)
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
                                     random_state=0).fit(X, y)
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


def target_5(args):
    header("5. Memory (fresh subprocesses, resident set size from /proc/self/status)")
    out = subprocess.run([sys.executable, "-c", MEMORY_SNAPSHOTS], capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr[-2000:])
        verdict("5", "snapshots / (10 x params x 4 B)", float("nan"), "<= 1.1", False)
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
            "5", "snapshots / (10 x params x 4 B)", held / budget, "<= 1.1", held <= 1.1 * budget
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
            "5",
            "predict_proba on 1M rows: peak extra memory",
            f"{extra / 2**20:.0f} MiB",
            "bounded (report)",
            "info",
        )
    )


def accuracy(args):
    header("Accuracy of the reference experiment (REFERENCE_PARAMS: per-epoch rate 0.01)")
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
        "  REFERENCE.md (10 seeds, Keras fit per epoch): final 0.810 +- 0.004, "
        "ensemble 0.810 +- 0.004"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and sizes")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per measurement")
    parser.add_argument(
        "--only", default="1,2,3,4,5,accuracy", help="comma-separated targets to run"
    )
    args = parser.parse_args(argv)
    args.runs = args.runs or (3 if args.quick else 7)
    start = time.perf_counter()
    print("sksnapshot benchmarks (issue 4): " + " ".join(["python", *sys.argv]))
    for line in machine():
        print(line)
    print(f"Timed runs per measurement: {args.runs} (median, after one warm-up round)")
    steps = {
        "1": target_1,
        "2": target_2,
        "3": target_3,
        "4": target_4,
        "5": target_5,
        "accuracy": accuracy,
    }
    for name in args.only.split(","):
        steps[name.strip()](args)
    header("Summary")
    print("| target | measure | value | goal | result |")
    print("|---|---|---|---|---|")
    for row in RESULTS:
        print("| " + " | ".join(row) + " |")
    print(f"\nTotal wall time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
