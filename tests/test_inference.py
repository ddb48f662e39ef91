"""The compiled member forward: fixed compiled shapes, whatever the members and rows (issue 12).

A shared (XLA) forward evaluates members in groups of ``MEMBER_GROUP`` and rows in chunks
of the sizes of ``ROW_BUCKETS``: once a fitted network of a structure has predicted, a
new number of members or of rows compiles (and traces) nothing.
"""

import threading

import numpy as np
import pytest

from sksnapshot import SnapshotEnsembleClassifier
from sksnapshot._inference import (
    MEMBER_GROUP,
    ROW_BUCKETS,
    _forward_for,
    _row_chunks,
    _row_sizes,
    member_outputs,
)

PARAMS = dict(
    hidden_layer_sizes=(13,), epochs=4, max_learning_rate=0.02, n_networks=1, random_state=0
)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    return X, y, rng.normal(size=(10_000, 2)).astype(np.float32)


def traces(forward):
    """Functions of ``forward`` and their traces, all of them."""
    return len(forward._functions), sum(
        f.experimental_get_tracing_count() for f in forward._functions.values()
    )


def test_new_member_and_row_counts_trace_nothing(data):
    X, y, rows = data
    first = SnapshotEnsembleClassifier(**PARAMS, n_cycles=3).fit(X, y)
    first.predict_proba(rows[:500])
    forward = _forward_for(first.model_)
    assert forward._jit  # a network of built-in layers: the shared XLA forward
    forward.wait_precompiled()  # the other row sizes, compiled in the background
    before = traces(forward)
    assert before == (len(ROW_BUCKETS), len(ROW_BUCKETS))  # every row size, once
    for n_cycles, n_rows in ((5, 500), (3, 77), (11, 3000), (9, 10_000), (1, 1)):
        fitted = SnapshotEnsembleClassifier(**PARAMS, n_cycles=n_cycles).fit(X, y)
        assert _forward_for(fitted.model_) is forward  # shared by the structure
        fitted.predict_proba(rows[:n_rows])
        for k in range(1, n_cycles + 1):
            fitted.set_params(n_members=k).predict_proba(rows[: n_rows + k])
        assert traces(forward) == before, (n_cycles, n_rows)


def test_a_member_output_does_not_depend_on_its_group(data):
    """Members are evaluated in groups of MEMBER_GROUP: slots and counts change nothing."""
    X, y, rows = data
    n_cycles = MEMBER_GROUP + 3
    clf = SnapshotEnsembleClassifier(**PARAMS, n_cycles=n_cycles).fit(X, y)
    encoded = clf._prepare(rows[:300])
    members = member_outputs(clf.model_, clf.snapshots_, encoded)
    assert members.shape == (n_cycles, 300, 3)
    for k in range(1, n_cycles + 1):
        np.testing.assert_array_equal(
            member_outputs(clf.model_, clf.snapshots_[-k:], encoded), members[-k:]
        )
        np.testing.assert_array_equal(
            member_outputs(clf.model_, clf.snapshots_[k - 1 : k], encoded), members[k - 1 : k]
        )
    mean = member_outputs(clf.model_, clf.snapshots_, encoded, reduce="mean")
    np.testing.assert_array_equal(mean, members.mean(axis=0))


def test_rows_are_cut_into_few_chunks_of_the_compiled_sizes():
    sizes = _row_sizes(8192)
    assert sizes == ROW_BUCKETS
    for n_rows in [1, 64, 127, 128, 129, 300, 1000, 2048, 2049, 8192, 8193, 20_000, 100_000]:
        chunks = _row_chunks(n_rows, sizes)
        assert chunks[0][0] == 0 and chunks[-1][1] == n_rows
        assert all(a[1] == b[0] for a, b in zip(chunks[:-1], chunks[1:], strict=True))
        assert all(padded in sizes and 0 < stop - start <= padded for start, stop, padded in chunks)
        assert sum(padded for *_, padded in chunks) < 4 * n_rows + sizes[0]
        assert len(chunks) <= n_rows // sizes[-1] + 5
    assert _row_sizes(70) == (70,)
    assert _row_chunks(150, (70,)) == [(0, 70, 70), (70, 140, 70), (140, 150, 70)]


def test_first_calls_from_threads_while_compiling_agree_with_serial_calls(data):
    """Threads predicting at once, while the row sizes compile, get the serial outputs."""
    X, y, rows = data
    params = {**PARAMS, "hidden_layer_sizes": (17,)}  # a structure of its own: not compiled
    clf = SnapshotEnsembleClassifier(**params, n_cycles=MEMBER_GROUP + 2).fit(X, y)
    encoded = clf._prepare(rows)
    jobs = [(k, n) for k in (1, MEMBER_GROUP + 1) for n in (1, 1500, 10_000)]
    results = {}

    def work(k, n):
        results[k, n] = member_outputs(clf.model_, clf.snapshots_[-k:], encoded[:n])

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = member_outputs(clf.model_, clf.snapshots_, encoded)
    for (k, n), got in results.items():
        np.testing.assert_array_equal(
            got, member_outputs(clf.model_, clf.snapshots_[-k:], encoded[:n])
        )
        np.testing.assert_allclose(got, everything[-k:, :n], atol=1e-6)  # rows chunked otherwise
