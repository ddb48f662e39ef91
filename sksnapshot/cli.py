"""The ``sksnapshot`` command."""

import argparse
import os
import sys
import time

__all__ = ["main"]


def _reference(args):
    from . import SnapshotEnsembleClassifier
    from ._reference import REFERENCE_PARAMS, reference_data, snapshot_accuracies

    X_train, y_train, X_test, y_test = reference_data()
    params = {**REFERENCE_PARAMS, "random_state": args.seed, "verbose": 0 if args.quiet else 1}
    print(
        "Reference experiment: blobs, 100 training rows, 1000 test rows; "
        f"{params['n_cycles']} cycles of {params['epochs'] // params['n_cycles']} epochs, "
        f"max learning rate {params['max_learning_rate']} (Keras shows one epoch per cycle)."
    )
    start = time.perf_counter()
    clf = SnapshotEnsembleClassifier(**params).fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    members, ensembles = snapshot_accuracies(clf, X_test, y_test)
    print(f"\nTrained in {elapsed:.1f} s. Test accuracy on {len(y_test)} rows:")
    print(f"{'k':>3}  {'snapshot k':>10}  {'ensemble of last k':>18}")
    for k, (member, ensemble) in enumerate(zip(members, ensembles, strict=True), start=1):
        print(f"{k:>3}  {member:>10.3f}  {ensemble:>18.3f}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sksnapshot",
        description="Snapshot ensembles as scikit-learn estimators. Without a command, "
        "runs the reference experiment.",
    )
    commands = parser.add_subparsers(dest="command")
    reference = commands.add_parser(
        "reference", help="train the reference experiment once and print its snapshot table"
    )
    reference.add_argument("--seed", type=int, default=0, help="random_state of the model")
    reference.add_argument("--quiet", action="store_true", help="no Keras progress display")
    reference.set_defaults(run=_reference)
    return parser


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["reference", *argv]
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
