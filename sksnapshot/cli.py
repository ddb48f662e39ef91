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
    group = parser.add_argument_group("snapshot ensemble")
    group.add_argument(
        "--n-cycles", type=_positive_int, help=f"cycles = snapshots (default {defaults[0]})"
    )
    group.add_argument(
        "--epochs", type=_positive_int, help=f"training epochs (default {defaults[1]})"
    )
    group.add_argument(
        "--max-learning-rate",
        type=_positive_float,
        help=f"peak learning rate of every cycle (default {defaults[2]})",
    )
    group.add_argument(
        "--lr-update",
        choices=["batch", "epoch"],
        help=f"rate changes every training step or every epoch (default {defaults[3]})",
    )
    group.add_argument(
        "--hidden-layer-sizes",
        type=_positive_int,
        nargs="+",
        metavar="UNITS",
        help=f"units of the hidden layers (default {' '.join(map(str, defaults[4]))})",
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
        n_seeds, scale=args.scale, progress=None if args.quiet else sys.stderr, **params
    )
    print(result.format_table())
    _report(*save_reference(result, args.out))
    return 0


def _compare(args):
    from .experiments import run_compare, save_compare

    params = _network_params(args, {"epochs": 20, "n_cycles": 3, "hidden_layer_sizes": (16,)})
    if args.quick:
        datasets = args.datasets or ["wine", "moons_noisy"]
        n_splits, n_repeats = args.n_splits or 2, args.n_repeats or 1
    else:
        datasets, n_splits, n_repeats = args.datasets, args.n_splits or 5, args.n_repeats or 1
    result = run_compare(
        datasets,
        args.estimators,
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
    from .experiments import COMPARE_DATASETS, COMPARE_ESTIMATORS, REFERENCE_PARAMS

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
        "budget, paired gains, and the Bayes-optimal accuracy.",
    )
    reference.add_argument(
        "--seeds", type=_positive_int, help="number of model seeds (default 10; 2 with --quick)"
    )
    reference.add_argument(
        "--scale", action="store_true", help="standardize the inputs (StandardScaler)"
    )
    p = REFERENCE_PARAMS
    _add_network_options(
        reference,
        (
            p["n_cycles"],
            p["epochs"],
            p["max_learning_rate"],
            p["lr_update"],
            p["hidden_layer_sizes"],
        ),
    )
    _add_common_options(reference)
    reference.set_defaults(run=_reference)

    compare = commands.add_parser(
        "compare",
        help="cross-validated comparison with other estimators on several datasets",
        description="Repeated stratified cross-validation of the snapshot ensemble against "
        "a single network with the same budget, a true ensemble of independently trained "
        "networks, MLPClassifier, LogisticRegression, RandomForestClassifier and "
        "HistGradientBoostingClassifier.",
    )
    compare.add_argument(
        "--datasets",
        nargs="+",
        choices=list(COMPARE_DATASETS),
        metavar="NAME",
        help=f"datasets to run (default all): {', '.join(COMPARE_DATASETS)}",
    )
    compare.add_argument(
        "--estimators",
        nargs="+",
        choices=list(COMPARE_ESTIMATORS),
        metavar="NAME",
        help=f"estimators to compare (default all): {', '.join(COMPARE_ESTIMATORS)}",
    )
    compare.add_argument("--n-splits", type=_positive_int, help="folds (default 5)")
    compare.add_argument(
        "--n-repeats", type=_positive_int, help="repetitions of the K-fold (default 1)"
    )
    compare.add_argument(
        "--random-state", type=int, default=0, help="seed of the folds and the estimators"
    )
    d = SnapshotEnsembleClassifier().get_params()
    _add_network_options(
        compare,
        (
            d["n_cycles"],
            d["epochs"],
            d["max_learning_rate"],
            d["lr_update"],
            d["hidden_layer_sizes"],
        ),
    )
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
    if args.command == "compare" and args.n_splits == 1:
        parser.error("--n-splits must be at least 2")
    return args.run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
