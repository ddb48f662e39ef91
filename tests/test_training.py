"""The mini-batch stream and the cycle bookkeeping, tested without a network."""

import numpy as np
import pytest

from sksnapshot._batches import batch_stream
from sksnapshot._plan import steps_per_epoch
from sksnapshot._plan import validation_split as split_validation
from sksnapshot._training import cycle_groups, execution_size


def _rows(stream):
    return [batch[0].numpy().ravel().astype(int).tolist() for batch in stream]


def test_stream_visits_every_row_once_per_epoch_and_reshuffles():
    X = np.arange(10, dtype=np.float32).reshape(-1, 1)
    batches = _rows(batch_stream((X, X), batch_size=4, start_step=0, n_steps=9, seed=3))
    assert [len(b) for b in batches] == [4, 4, 2] * 3
    epochs = [sum(batches[3 * e : 3 * e + 3], []) for e in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(10))
    assert epochs[0] != epochs[1] or epochs[1] != epochs[2]


def test_stream_can_start_mid_run():
    X = np.arange(10, dtype=np.float32).reshape(-1, 1)
    whole = _rows(batch_stream((X,), batch_size=4, start_step=0, n_steps=8, seed=7))
    tail = _rows(batch_stream((X,), batch_size=4, start_step=5, n_steps=3, seed=7))
    assert tail == whole[5:]


def test_stream_without_shuffle_keeps_order():
    X = np.arange(5, dtype=np.float32).reshape(-1, 1)
    rows = _rows(batch_stream((X,), batch_size=2, start_step=0, n_steps=6, seed=0, shuffle=False))
    assert rows == [[0, 1], [2, 3], [4]] * 2


def test_cycle_groups():
    assert cycle_groups([5, 5, 4, 4, 4]) == [(0, 2, 5), (2, 3, 4)]
    assert cycle_groups([7] * 4) == [(0, 4, 7)]


@pytest.mark.parametrize("steps", [1, 7, 16, 200, 256, 257, 1000, 2 * 997])
def test_execution_size_divides_the_cycle(steps):
    size = execution_size(steps)
    assert steps % size == 0
    assert size == steps or size >= 16


def test_split_validation_takes_the_last_rows():
    X = np.arange(10)
    (train,), (valid,) = split_validation((X,), 0.3)
    assert train.tolist() == list(range(7)) and valid.tolist() == [7, 8, 9]
    with pytest.raises(ValueError, match="validation_split"):
        split_validation((np.arange(1),), 0.5)


def test_steps_per_epoch():
    assert steps_per_epoch(100, 32) == 4
    assert steps_per_epoch(96, 32) == 3
