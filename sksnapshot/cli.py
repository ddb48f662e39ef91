"""The ``sksnapshot`` command: ``sksnapshot reference`` (the default) and ``sksnapshot compare``.

The experiments themselves live in :mod:`sksnapshot.experiments`; this module only parses
the command line, prints the table and says where the result files are.
"""

import argparse
import logging
import os
import sys

__all__ = ["build_parser", "main"]

_DEFAULT_OUT = "sksnapshot-results"


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _add_network_options(parser, defaults):
    """The snapshot ensemble's options; ``defaults`` maps parameter names to the defaults."""
    group = parser.add_argument_group("snapshot ensemble")
    group.add_argument(
        "--n-cycles",
        type=_positive_int,
        help=f"cycles = snapshots (default {defaults['n_cycles']})",
    )
    group.add_argument(
        "--epochs", type=_positive_int, help=f"training epochs (default {defaults['epochs']})"
    )
    group.add_argument(
        "--max-learning-rate",
        type=_positive_float,
        help=f"peak learning rate of every cycle (default {defaults['max_learning_rate']})",
    )
    group.add_argument(
        "--lr-update",
        choices=["batch", "epoch"],
        help=f"rate changes every training step or every epoch (default {defaults['lr_update']})",
    )
    hidden = " ".join(map(str, defaults["hidden_layer_sizes"]))
    group.add_argument(
        "--hidden-layer-sizes",
        type=_positive_int,
        nargs="+",
        metavar="UNITS",
        help=f"units of the hidden layers (default {hidden})",
    )


def _add_common_options(parser):
    parser.add_argument(
        "--out",
        default=_DEFAULT_OUT,
        help=f"folder for the CSV, JSON and PNG results (default ./{_DEFAULT_OUT}/)",
    )
    parser.add_argument("--quick", action="store_true", help="a much smaller run, for tests and CI")
    parser.add_argument("--quiet", action="store_true", help="no live progress on stderr")


def _network_params(args, quick_defaults):
    params = {
        "n_cycles": args.n_cycles,
        "epochs": args.epochs,
        "max_learning_rate": args.max_learning_rate,
        "lr_update": args.lr_update,
        "hidden_layer_sizes": tuple(args.hidden_layer_sizes) if args.hidden_layer_sizes else None,
    }
    if args.quick:
        params = {key: quick_defaults.get(key) if v is None else v for key, v in params.items()}
    return {key: value for key, value in params.items() if value is not None}


def _report(paths, notes):
    print("\nResults written:")
    for path in paths:
        print(f"  {path}")
    for note in notes:
        print(note)


def _reference(args):
    from .experiments import run_reference, save_reference

    params = _network_params(args, {"epochs": 50, "n_cycles": 5})
    n_seeds = args.seeds if args.seeds is not None else (2 if args.quick else 10)
    result = run_reference(
        n_seeds,
        scale=args.scale,
        n_networks=args.n_networks,
        defaults_line=args.defaults_line,
        progress=None if args.quiet else sys.stderr,
        **params,
    )
    print(result.format_table())
    _report(*save_reference(result, args.out))
    return 0


#: Datasets of ``sksnapshot compare --quick`` per task.
_QUICK_DATASETS = {"classification": ["wine", "moons_noisy"], "regression": ["diabetes"]}


def _compare(args):
    from .experiments import run_compare, save_compare

    params = _network_params(args, {"epochs": 20, "n_cycles": 3, "hidden_layer_sizes": (16,)})
    if args.quick:
        datasets = args.datasets or _QUICK_DATASETS[args.task]
        n_splits, n_repeats = args.n_splits or 2, args.n_repeats or 1
    else:
        datasets, n_splits, n_repeats = args.datasets, args.n_splits or 5, args.n_repeats or 1
    result = run_compare(
        datasets,
        args.estimators,
        task=args.task,
        n_splits=n_splits,
        n_repeats=n_repeats,
        snapshot_params=params,
        random_state=args.random_state,
        quick=args.quick,
        progress=None if args.quiet else sys.stderr,
    )
    print(result.format_table())
    _report(*save_compare(result, args.out))
    return 0


def build_parser():
    """The argument parser of the ``sksnapshot`` command."""
    from . import SnapshotEnsembleClassifier
    from .experiments import (
        COMPARE_DATASETS,
        COMPARE_ESTIMATORS,
        DEFAULT_ESTIMATORS,
        REFERENCE_PARAMS,
        task_datasets,
    )

    parser = argparse.ArgumentParser(
        prog="sksnapshot",
        description="Snapshot ensembles as scikit-learn estimators: does the ensemble help? "
        "Without a command, runs 'sksnapshot reference'.",
    )
    commands = parser.add_subparsers(dest="command", metavar="{reference,compare}")

    reference = commands.add_parser(
        "reference",
        help="the reference experiment over many seeds (the default command)",
        description="The snapshot-ensemble tutorial's blobs problem (100 training rows, "
        "1000 test rows), repeated over seeds with the data fixed: every snapshot, the "
        "ensemble of the last k, the final snapshot, a single model with the same "
        "budget, the estimator's defaults on standardized inputs, paired gains, and the "
        "Bayes-optimal accuracy.",
    )
    reference.add_argument(
        "--seeds", type=_positive_int, help="number of model seeds (default 10; 2 with --quick)"
    )
    reference.add_argument(
        "--scale", action="store_true", help="standardize the inputs (StandardScaler)"
    )
    reference.add_argument(
        "--n-networks",
        type=_positive_int,
        default=REFERENCE_PARAMS["n_networks"],
        help="networks trained side by side in the snapshot ensemble (n_networks; "
        "default 1, the tutorial's); the single model stays one network",
    )
    reference.add_argument(
        "--no-defaults-line",
        dest="defaults_line",
        action="store_false",
        help="leave out the line of the estimator's defaults (make_pipeline(StandardScaler(), "
        "SnapshotEnsembleClassifier(random_state=seed)) on the same rows)",
    )
    _add_network_options(reference, REFERENCE_PARAMS)
    _add_common_options(reference)
    reference.set_defaults(run=_reference)

    compare = commands.add_parser(
        "compare",
        help="cross-validated comparison with other estimators on several datasets",
        description="Repeated cross-validation of the snapshot ensemble against a single "
        "network with the same budget, a true ensemble of independently trained networks "
        "and scikit-learn estimators. Classification (stratified folds; accuracy, log "
        "loss): MLPClassifier, LogisticRegression, RandomForestClassifier, "
        "HistGradientBoostingClassifier. Regression (R², RMSE): MLPRegressor, Ridge, "
        "HistGradientBoostingRegressor (RandomForestRegressor on request); the networks "
        "learn standardized targets. Snapshot variants: snapshot_weights "
        "(combine='weights'), snapshot_auto (n_members='auto'), snapshot_one_network "
        "(n_networks=1: one network, whatever the snapshot ensemble's; in the "
        "classification default set) and snapshot_networks (n_networks=4: four networks "
        "trained side by side, the cheap rival of the true ensemble; in the regression "
        "default set). A snapshot ensemble fitted with several networks also reports one "
        "network's final snapshot, snapshots and last-k ensemble.",
    )
    compare.add_argument(
        "--task",
        choices=list(COMPARE_ESTIMATORS),
        help="classification or regression (default: the task of --datasets, else classification)",
    )
    compare.add_argument(
        "--datasets",
        nargs="+",
        choices=list(COMPARE_DATASETS),
        metavar="NAME",
        help="datasets to run (default all of the task): classification "
        f"{', '.join(task_datasets('classification'))}; regression "
        f"{', '.join(task_datasets('regression'))}",
    )
    names = list(dict.fromkeys(n for task in COMPARE_ESTIMATORS.values() for n in task))
    compare.add_argument(
        "--estimators",
        nargs="+",
        choices=names,
        metavar="NAME",
        help="estimators to compare: "
        + "; ".join(
            f"{task} {', '.join(available)} (default {' '.join(DEFAULT_ESTIMATORS[task])})"
            for task, available in COMPARE_ESTIMATORS.items()
        ),
    )
    compare.add_argument("--n-splits", type=_positive_int, help="folds (default 5)")
    compare.add_argument(
        "--n-repeats", type=_positive_int, help="repetitions of the K-fold (default 1)"
    )
    compare.add_argument(
        "--random-state", type=int, default=0, help="seed of the folds and the estimators"
    )
    _add_network_options(compare, SnapshotEnsembleClassifier().get_params())
    _add_common_options(compare)
    compare.set_defaults(run=_compare)
    return parser


def main(argv=None):
    """Run the ``sksnapshot`` command; returns the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["reference", *argv]
    args = parser.parse_args(argv)
    if args.command == "compare":
        _check_compare_args(parser, args)
    return args.run(args)


def _check_compare_args(parser, args):
    """Resolve ``--task`` and refuse datasets or estimators of the other task."""
    from .experiments import COMPARE_ESTIMATORS, dataset_task

    if args.n_splits == 1:
        parser.error("--n-splits must be at least 2")
    tasks = {dataset_task(name) for name in args.datasets or []}
    if args.task is None:
        if len(tasks) > 1:
            parser.error(
                "--datasets mixes classification and regression datasets; run them "
                "separately (--task classification / --task regression)"
            )
        args.task = tasks.pop() if tasks else "classification"
    wrong = [name for name in args.datasets or [] if dataset_task(name) != args.task]
    if wrong:
        parser.error(f"--datasets {' '.join(wrong)}: not {args.task} datasets")
    available = COMPARE_ESTIMATORS[args.task]
    wrong = [name for name in args.estimators or [] if name not in available]
    if wrong:
        parser.error(
            f"--estimators {' '.join(wrong)}: not {args.task} estimators; choose from "
            f"{', '.join(available)}"
        )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
