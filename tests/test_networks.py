"""Several networks trained side by side (``n_networks``), checked against plain computations.

With ``n_networks=N`` the default network is N independent MLPs stacked along a leading
axis of every weight; each network's gradient is its own, so training them together must
give the weights of N separately trained Keras MLPs on the same batches. The members are
the (snapshot, network) pairs; their outputs are checked against a numpy forward pass of
each network's weights, and every combination of them (soft and hard voting, weight
averaging, staging, ``return_std``) against numpy means over those pairs.
"""

import contextlib
import pickle

import keras
import numpy as np
import pytest
from _helpers import PoisonWeights, StartWeights, assert_continues
from _plain import plain_snapshot_fit
from sklearn.base import clone
from sklearn.datasets import make_blobs, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from sksnapshot import (
    SnapshotEnsembleClassifier,
    SnapshotEnsembleRegressor,
    cycle_lengths,
    load,
    save,
)
from sksnapshot._mlp import build_mlp

TINY = dict(hidden_layer_sizes=(8,), n_cycles=3, epochs=6, random_state=0)


# -- data ----------------------------------------------------------------------------
def _standardized(X):
    return ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)


@pytest.fixture(scope="module")
def three_classes():
    """120 rows, 3 classes, 2 standardized features (batches of 32: 4 steps, the last short)."""
    X, y = make_blobs(n_samples=120, centers=3, n_features=2, cluster_std=2.0, random_state=2)
    return _standardized(X), y


@pytest.fixture(scope="module")
def two_classes(binary):
    X, y = binary
    return _standardized(X[:100]), y[:100]


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=100, n_features=3, noise=5.0, random_state=0)
    return _standardized(X), (y / y.std()).astype(np.float32)


# -- numpy references ---------------------------------------------------------------------
def _network(snapshot, n):
    """Network ``n``'s weights in a stacked snapshot, as a plain Dense MLP holds them."""
    return [np.asarray(w)[n] for w in snapshot]


def _forward(weights, X):
    """The raw output of a relu MLP with weights [kernel, bias, ...] (float64, numpy)."""
    h = np.asarray(X, dtype=np.float64)
    layers = list(zip(weights[0::2], weights[1::2], strict=True))
    for kernel, bias in layers[:-1]:
        h = np.maximum(h @ kernel.astype(np.float64) + bias, 0.0)
    kernel, bias = layers[-1]
    return h @ kernel.astype(np.float64) + bias


def _probabilities(weights, X):
    """Class probabilities: softmax, or [1 - p, p] for one sigmoid unit."""
    z = _forward(weights, X)
    if z.shape[1] == 1:
        p = 1.0 / (1.0 + np.exp(-z))
        return np.concatenate([1.0 - p, p], axis=1)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _pairs(estimator):
    """The (snapshot, network) pairs that are members, oldest snapshot first."""
    mask = np.asarray(estimator.snapshot_networks_)
    return [(s, n) for s in range(mask.shape[0]) for n in range(mask.shape[1]) if mask[s, n]]


def _hand_member_probas(estimator, X, pairs=None):
    pairs = _pairs(estimator) if pairs is None else pairs
    return np.array([_probabilities(_network(estimator.snapshots_[s], n), X) for s, n in pairs])


def _hand_member_outputs(estimator, X, pairs=None):
    pairs = _pairs(estimator) if pairs is None else pairs
    return np.array([_forward(_network(estimator.snapshots_[s], n), X) for s, n in pairs])


def _cross_entropy(proba, y):
    return float(-np.mean(np.log(proba[np.arange(len(y)), y])))


@contextlib.contextmanager
def _params(estimator, **params):
    """Parameters set for a block, then restored (fixtures are shared)."""
    before = {name: getattr(estimator, name) for name in params}
    estimator.set_params(**params)
    try:
        yield estimator
    finally:
        estimator.set_params(**before)


class PoisonNetworks(keras.callbacks.Callback):
    """Sets every weight of network n to NaN when cycle ``cycles[n]`` (0-based) begins."""

    def __init__(self, cycles):
        super().__init__()
        self.cycles = dict(cycles)

    def on_epoch_begin(self, epoch, logs=None):
        networks = [n for n, cycle in self.cycles.items() if cycle == epoch]
        if networks:
            weights = self.model.get_weights()
            for w in weights:
                w[networks] = np.nan
            self.model.set_weights(weights)


def _step(model):
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


class PoisonNetworkAtStep(keras.callbacks.Callback):
    """Sets network ``network``'s first kernel to inf after the compiled call ending at
    optimizer step ``step`` (after the snapshot callback's loss check of that call)."""

    def __init__(self, network, step):
        super().__init__()
        self.network, self.step = network, step

    def on_train_batch_end(self, batch, logs=None):
        if _step(self.model) == self.step:
            weights = self.model.get_weights()
            weights[0][self.network] = np.inf
            self.model.set_weights(weights)


def _convergence_messages(record):
    return [str(w.message) for w in record if issubclass(w.category, ConvergenceWarning)]


# -- fitted estimators shared by the prediction tests ------------------------------------
@pytest.fixture(scope="module")
def classifier(three_classes):
    X, y = three_classes
    return SnapshotEnsembleClassifier(**TINY, n_networks=3, callbacks=[StartWeights()]).fit(X, y)


@pytest.fixture(scope="module")
def binary_classifier(two_classes):
    X, y = two_classes
    return SnapshotEnsembleClassifier(**TINY, n_networks=2).fit(X, y)


@pytest.fixture(scope="module")
def regressor(regression):
    X, y = regression
    return SnapshotEnsembleRegressor(**TINY, n_networks=2, max_learning_rate=0.02).fit(X, y)


# -- training -------------------------------------------------------------------------
TASKS = {
    # task: (estimator class, data fixture, output activation, loss)
    "multiclass": (
        SnapshotEnsembleClassifier,
        "three_classes",
        "softmax",
        "sparse_categorical_crossentropy",
    ),
    "binary": (SnapshotEnsembleClassifier, "two_classes", "sigmoid", "binary_crossentropy"),
    "regression": (SnapshotEnsembleRegressor, "regression", "linear", "mse"),
}


@pytest.mark.parametrize(
    "task, jit_compile, n_networks, weighted",
    [
        ("multiclass", "auto", 3, False),
        ("binary", "auto", 2, True),  # sample weights weigh every network's loss alike
        ("regression", False, 2, False),  # a plain TensorFlow graph instead of XLA
    ],
)
def test_stacked_training_equals_separately_trained_networks_on_the_same_batches(
    request, task, jit_compile, n_networks, weighted
):
    cls, data, output_activation, loss = TASKS[task]
    X, y = request.getfixturevalue(data)
    epochs, n_cycles = 2, 2  # 4 steps per epoch (32, 32, 32, 24 or 4 rows); cycles of 4 steps
    start = StartWeights()
    est = cls(
        hidden_layer_sizes=(8,),
        n_cycles=n_cycles,
        epochs=epochs,
        n_networks=n_networks,
        shuffle=False,
        jit_compile=jit_compile,
        callbacks=[start],
        random_state=0,
    )
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(X)) if weighted else None
    est.fit(X, y, sample_weight=weights)
    initial = start.weights[0]
    assert [w.shape[0] for w in initial] == [n_networks] * 4
    n_steps = epochs * int(np.ceil(len(X) / 32))
    assert len(est.learning_rates_) == n_steps
    targets = y.reshape(-1, 1).astype(np.float32) if task != "multiclass" else y
    for n in range(n_networks):
        network = _network(initial, n)
        plain = build_mlp(X.shape[1], (8,), "relu", network[-1].shape[0], output_activation)
        plain.set_weights(network)
        optimizer = keras.optimizers.SGD(0.0, momentum=0.9)
        plain.compile(loss=loss, optimizer=optimizer, jit_compile=False)
        snapshots, _ = plain_snapshot_fit(
            plain,
            X,
            targets,
            sample_weight=None if weights is None else weights.astype(np.float32),
            step_rates=est.learning_rates_,
            step_lengths=cycle_lengths(n_steps, n_cycles),
            epochs=epochs,
            batch_size=32,
            shuffle=False,
        )
        assert not np.allclose(snapshots[0][0], network[0])  # it trained
        assert len(est.snapshots_) == len(snapshots) == n_cycles
        for stacked, separate in zip(est.snapshots_, snapshots, strict=True):
            for got, want in zip(_network(stacked, n), separate, strict=True):
                np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_networks_start_from_different_weights_and_give_different_members(
    classifier, three_classes
):
    X, _ = three_classes
    initial = classifier.callbacks[0].weights[0]
    kernels = initial[0]
    assert kernels.shape == (3, X.shape[1], 8)
    for a in range(3):
        for b in range(a + 1, 3):
            assert not np.allclose(kernels[a], kernels[b])
    members = classifier.member_predict_proba(X).reshape(3, 3, len(X), 3)
    for s in range(3):
        for a in range(3):
            for b in range(a + 1, 3):
                assert np.abs(members[s, a] - members[s, b]).max() > 1e-3


# -- members and their combinations -------------------------------------------------------
@pytest.mark.parametrize(
    "fitted, data", [("classifier", "three_classes"), ("binary_classifier", "two_classes")]
)
def test_member_probabilities_are_ordered_by_snapshot_then_network(request, fitted, data):
    clf = request.getfixturevalue(fitted)
    X, _ = request.getfixturevalue(data)
    n_networks = clf.n_networks
    members = clf.member_predict_proba(X)
    assert members.shape == (3 * n_networks, len(X), 2 if fitted == "binary_classifier" else 3)
    for s in range(3):
        for n in range(n_networks):
            want = _probabilities(_network(clf.snapshots_[s], n), X)
            np.testing.assert_allclose(members[s * n_networks + n], want, atol=1e-5)


def test_stacked_snapshots_hold_every_network_in_plain_dense_order(classifier, three_classes):
    X, _ = three_classes
    shapes = [(3, 2, 8), (3, 8), (3, 8, 3), (3, 3)]
    assert len(classifier.snapshots_) == 3
    for snapshot in classifier.snapshots_:
        assert [np.shape(w) for w in snapshot] == shapes
    plain = build_mlp(X.shape[1], (8,), "relu", 3, "softmax")
    assert [w.shape for w in _network(classifier.snapshots_[0], 0)] == [
        w.shape for w in plain.get_weights()
    ]


@pytest.mark.parametrize("n_members", [None, 2, 1])
def test_predict_proba_is_the_mean_over_every_network_of_the_last_snapshots(
    classifier, three_classes, n_members
):
    X, _ = three_classes
    k = 3 if n_members is None else n_members
    pairs = [(s, n) for s in range(3 - k, 3) for n in range(3)]
    want = _hand_member_probas(classifier, X, pairs).mean(axis=0)
    with _params(classifier, n_members=n_members):
        assert classifier.n_members_ == k  # counts snapshots, not (snapshot, network) pairs
        np.testing.assert_allclose(classifier.predict_proba(X), want, atol=1e-5)
        np.testing.assert_array_equal(classifier.predict(X), np.argmax(want, axis=1))


def test_binary_predict_proba_is_the_mean_over_every_member_pair(binary_classifier, two_classes):
    X, _ = two_classes
    want = _hand_member_probas(binary_classifier, X).mean(axis=0)
    assert _hand_member_probas(binary_classifier, X).shape[0] == 6
    np.testing.assert_allclose(binary_classifier.predict_proba(X), want, atol=1e-5)


def test_staged_predict_proba_stages_by_snapshot(classifier, three_classes):
    X, _ = three_classes
    staged = list(classifier.staged_predict_proba(X))
    assert len(staged) == 3
    for k, got in enumerate(staged, start=1):
        pairs = [(s, n) for s in range(3 - k, 3) for n in range(3)]
        want = _hand_member_probas(classifier, X, pairs).mean(axis=0)
        np.testing.assert_allclose(got, want, atol=1e-5)
    labels = list(classifier.staged_predict(X))
    assert len(labels) == 3
    np.testing.assert_array_equal(labels[-1], np.argmax(staged[-1], axis=1))


@pytest.mark.parametrize("n_members", [None, 2])
def test_combine_weights_averages_within_each_network_then_over_networks(
    classifier, three_classes, n_members
):
    X, _ = three_classes
    k = 3 if n_members is None else n_members
    outputs = []
    for n in range(3):
        window = [_network(snapshot, n) for snapshot in classifier.snapshots_[3 - k :]]
        averaged = [np.mean(layer, axis=0) for layer in zip(*window, strict=True)]
        outputs.append(_probabilities(averaged, X))
    want = np.mean(outputs, axis=0)
    # Averaging all weights across networks too would be another, wrong, network.
    mixed = [np.mean(w[3 - k :], axis=(0, 1)) for w in zip(*classifier.snapshots_, strict=True)]
    assert np.abs(_probabilities(mixed, X) - want).max() > 1e-3
    with _params(classifier, combine="weights", n_members=n_members):
        np.testing.assert_allclose(classifier.predict_proba(X), want, atol=1e-5)
        staged = list(classifier.staged_predict_proba(X))
    assert len(staged) == 3
    if n_members == 2:
        np.testing.assert_allclose(staged[1], want, atol=1e-5)


def test_hard_voting_counts_a_vote_of_every_member_pair(classifier, three_classes):
    X, _ = three_classes
    members = classifier.member_predict_proba(X)  # 9 pairs, checked by hand above
    assert members.shape[0] == 9
    votes = np.argmax(members, axis=2)
    fractions = np.stack([(votes == c).sum(axis=0) for c in range(3)], axis=1) / 9
    with _params(classifier, voting="hard"):
        got = classifier.predict_proba(X)
        np.testing.assert_allclose(got, fractions, atol=1e-12)
        # Fractions in ninths: only 9 voters give them.
        np.testing.assert_allclose(got * 9, np.round(got * 9), atol=1e-9)
        staged = list(classifier.staged_predict_proba(X))
    assert len(staged) == 3
    last = votes[-3:]
    want = np.stack([(last == c).sum(axis=0) for c in range(3)], axis=1) / 3
    np.testing.assert_allclose(staged[0], want, atol=1e-12)


def test_regressor_members_mean_and_std_are_over_every_member_pair(regressor, regression):
    X, _ = regression
    members = regressor.member_predict(X)
    assert members.shape == (6, len(X))
    hand = _hand_member_outputs(regressor, X)[..., 0]
    np.testing.assert_allclose(members, hand, rtol=1e-5, atol=1e-5)
    mean, std = regressor.predict(X, return_std=True)
    assert mean.shape == std.shape == (len(X),)
    np.testing.assert_allclose(mean, hand.mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(std, hand.std(axis=0), rtol=1e-4, atol=1e-5)
    assert np.all(std > 0)
    np.testing.assert_allclose(regressor.predict(X), hand.mean(axis=0), rtol=1e-5, atol=1e-5)
    with _params(regressor, n_members=1):
        mean, std = regressor.predict(X, return_std=True)
    np.testing.assert_allclose(mean, hand[4:].mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(std, hand[4:].std(axis=0), rtol=1e-4, atol=1e-5)


def test_regressor_staged_predict_and_weight_averaging(regressor, regression):
    X, _ = regression
    hand = _hand_member_outputs(regressor, X)[..., 0].reshape(3, 2, len(X))
    staged = list(regressor.staged_predict(X))
    assert len(staged) == 3
    for k, got in enumerate(staged, start=1):
        np.testing.assert_allclose(got, hand[3 - k :].mean(axis=(0, 1)), rtol=1e-5, atol=1e-5)
    outputs = []
    for n in range(2):
        window = [_network(snapshot, n) for snapshot in regressor.snapshots_]
        averaged = [np.mean(layer, axis=0) for layer in zip(*window, strict=True)]
        outputs.append(_forward(averaged, X)[:, 0])
    with _params(regressor, combine="weights"):
        np.testing.assert_allclose(
            regressor.predict(X), np.mean(outputs, axis=0), rtol=1e-5, atol=1e-5
        )


def test_every_member_pair_is_marked_without_faults(classifier, regressor):
    for est in (classifier, regressor):
        mask = est.snapshot_networks_
        assert isinstance(mask, np.ndarray)
        assert mask.dtype == np.bool_
        assert mask.shape == (3, est.n_networks)
        assert mask.all()


# -- one network: today's estimator --------------------------------------------------------
def test_one_network_is_the_plain_dense_estimator_bit_for_bit(three_classes):
    X, y = three_classes
    # 0.1.0's classifier (before n_networks, and its default until issue 14): the same
    # one-network fit whether n_networks=1 is given to __init__ or set afterwards.
    default = SnapshotEnsembleClassifier(**TINY).set_params(n_networks=1).fit(X, y)
    one = SnapshotEnsembleClassifier(**TINY, n_networks=1).fit(X, y)
    assert len(one.snapshots_) == len(default.snapshots_) == 3
    for got, want in zip(one.snapshots_, default.snapshots_, strict=True):
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)
    plain = build_mlp(X.shape[1], (8,), "relu", 3, "softmax")
    plain_shapes = [w.shape for w in plain.get_weights()]
    assert [w.shape for w in one.model_.get_weights()] == plain_shapes
    for snapshot in one.snapshots_:
        assert [np.shape(w) for w in snapshot] == plain_shapes  # no network axis
    for est in (one, default):
        assert est.snapshot_networks_.dtype == np.bool_
        assert est.snapshot_networks_.shape == (3, 1)
        assert est.snapshot_networks_.all()
    np.testing.assert_array_equal(one.predict_proba(X), default.predict_proba(X))
    members = one.member_predict_proba(X)
    assert members.shape == (3, len(X), 3)
    np.testing.assert_array_equal(members, default.member_predict_proba(X))
    want = np.array([_probabilities(snapshot, X) for snapshot in one.snapshots_])
    np.testing.assert_allclose(members, want, atol=1e-5)


# -- faults, one network at a time -----------------------------------------------------------
FAULT_PARAMS = dict(hidden_layer_sizes=(8,), n_cycles=4, epochs=8, random_state=0)


@pytest.fixture(scope="module")
def faulty(three_classes):
    """Network 1 of 3 turns NaN when cycle 2 of 4 begins; the warnings it gave."""
    X, y = three_classes
    clf = SnapshotEnsembleClassifier(
        **FAULT_PARAMS, n_networks=3, callbacks=[PoisonNetworks({1: 1})]
    )
    with pytest.warns(ConvergenceWarning, match=r"network 1\b") as record:
        clf.fit(X, y)
    return clf, _convergence_messages(record)


def test_a_diverged_network_is_named_in_the_warning_and_only_it(faulty):
    _, messages = faulty
    assert any("network 1" in m for m in messages)
    assert not any("network 0" in m or "network 2" in m for m in messages)


def test_a_diverged_network_loses_its_snapshots_from_the_fault_on(faulty):
    clf, _ = faulty
    expected = np.ones((4, 3), dtype=bool)
    expected[1:, 1] = False
    assert clf.snapshot_networks_.dtype == np.bool_
    np.testing.assert_array_equal(clf.snapshot_networks_, expected)
    assert len(clf.snapshots_) == 4  # the other networks went on to the last cycle
    for s in range(4):
        for n in (0, 2):
            assert all(np.all(np.isfinite(w)) for w in _network(clf.snapshots_[s], n))


def test_the_other_networks_train_as_without_the_fault(faulty, three_classes):
    clf, _ = faulty
    X, y = three_classes
    clean = SnapshotEnsembleClassifier(**FAULT_PARAMS, n_networks=3).fit(X, y)
    assert clean.snapshot_networks_.all()
    for got, want in zip(clf.snapshots_, clean.snapshots_, strict=True):
        for n in (0, 2):
            for a, b in zip(_network(got, n), _network(want, n), strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_members_after_a_fault_are_the_finished_pairs(faulty, three_classes):
    clf, _ = faulty
    X, _ = three_classes
    pairs = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 2), (3, 0), (3, 2)]
    assert _pairs(clf) == pairs
    members = clf.member_predict_proba(X)
    assert members.shape == (9, len(X), 3)
    assert np.all(np.isfinite(members))
    np.testing.assert_allclose(members, _hand_member_probas(clf, X, pairs), atol=1e-5)
    proba = clf.predict_proba(X)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba, _hand_member_probas(clf, X, pairs).mean(axis=0), atol=1e-5)
    with _params(clf, n_members=2):
        assert clf.n_members_ == 2
        want = _hand_member_probas(clf, X, pairs[-4:]).mean(axis=0)
        np.testing.assert_allclose(clf.predict_proba(X), want, atol=1e-5)
    staged = list(clf.staged_predict_proba(X))
    assert len(staged) == 4
    for k, got in enumerate(staged, start=1):
        window = [(s, n) for s, n in pairs if s >= 4 - k]
        want = _hand_member_probas(clf, X, window).mean(axis=0)
        np.testing.assert_allclose(got, want, atol=1e-5)


def _weight_averaged_probas(estimator, X, window):
    """Per network, the mean of its member weights in ``window`` (snapshot indices); the
    mean of those networks' probabilities (networks without a member there left out)."""
    mask = estimator.snapshot_networks_
    outputs = []
    for n in range(mask.shape[1]):
        mine = [_network(estimator.snapshots_[s], n) for s in window if mask[s, n]]
        if mine:
            averaged = [np.mean(layer, axis=0) for layer in zip(*mine, strict=True)]
            outputs.append(_probabilities(averaged, X))
    return np.mean(outputs, axis=0)


@pytest.mark.parametrize("n_members", [None, 2])
def test_weight_averaging_after_a_fault_uses_each_networks_members_only(
    faulty, three_classes, n_members
):
    clf, _ = faulty
    X, _ = three_classes
    window = range(4) if n_members is None else range(2, 4)
    want = _weight_averaged_probas(clf, X, window)
    with _params(clf, combine="weights", n_members=n_members):
        got = clf.predict_proba(X)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_hard_voting_after_a_fault_counts_the_finished_pairs(faulty, three_classes):
    clf, _ = faulty
    X, _ = three_classes
    members = clf.member_predict_proba(X)  # 9 finished pairs of 12
    votes = np.argmax(members, axis=2)
    fractions = np.stack([(votes == c).sum(axis=0) for c in range(3)], axis=1) / 9
    with _params(clf, voting="hard"):
        np.testing.assert_allclose(clf.predict_proba(X), fractions, atol=1e-12)


def test_a_network_that_failed_stays_out_of_a_warm_started_fit(three_classes):
    X, y = three_classes
    poison = PoisonNetworks({1: 1})
    clf = SnapshotEnsembleClassifier(**FAULT_PARAMS, n_networks=3, callbacks=[poison])
    with pytest.warns(ConvergenceWarning, match=r"network 1\b"):
        clf.fit(X, y)
    poison.cycles = {}  # the continued fit meets no new fault
    clf.set_params(warm_start=True, n_cycles=2, epochs=4)
    clf.fit(X, y)
    expected = np.ones((6, 3), dtype=bool)
    expected[1:, 1] = False
    np.testing.assert_array_equal(clf.snapshot_networks_, expected)
    members = clf.member_predict_proba(X)
    assert members.shape == (6 * 2 + 1, len(X), 3)
    assert np.all(np.isfinite(members))
    np.testing.assert_allclose(members, _hand_member_probas(clf, X), atol=1e-5)
    for n in (0, 2):  # the others trained on
        assert not np.allclose(_network(clf.snapshots_[5], n)[0], _network(clf.snapshots_[3], n)[0])


def test_multi_output_regressor_after_a_fault_predicts_with_the_finished_pairs(regression):
    X, y = regression
    Y = np.column_stack([y, -0.5 * y])  # two targets: members keep an output axis
    reg = SnapshotEnsembleRegressor(
        **FAULT_PARAMS, n_networks=2, max_learning_rate=0.02, callbacks=[PoisonNetworks({0: 2})]
    )
    with pytest.warns(ConvergenceWarning, match=r"network 0\b"):
        reg.fit(X, Y)
    np.testing.assert_array_equal(
        reg.snapshot_networks_, [[True, True], [True, True], [False, True], [False, True]]
    )
    pairs = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 1), (3, 1)]
    hand = _hand_member_outputs(reg, X, pairs)
    assert hand.shape == (6, len(X), 2)
    members = reg.member_predict(X)
    assert members.shape == (6, len(X), 2)
    np.testing.assert_allclose(members, hand, rtol=1e-5, atol=1e-5)
    mean, std = reg.predict(X, return_std=True)
    assert mean.shape == std.shape == (len(X), 2)
    np.testing.assert_allclose(mean, hand.mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(std, hand.std(axis=0), rtol=1e-4, atol=1e-5)
    with _params(reg, n_members=2):  # snapshots 2 and 3: network 1 only
        mean, std = reg.predict(X, return_std=True)
    np.testing.assert_allclose(mean, hand[-2:].mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(std, hand[-2:].std(axis=0), rtol=1e-4, atol=1e-5)


def test_one_network_after_a_fault_marks_its_finished_snapshots(three_classes):
    X, y = three_classes
    clf = SnapshotEnsembleClassifier(
        **FAULT_PARAMS, n_networks=1, callbacks=[PoisonWeights(cycle=2)]
    )
    with pytest.warns(ConvergenceWarning, match="2 of 4 cycles finished"):
        clf.fit(X, y)
    assert len(clf.snapshots_) == 2
    np.testing.assert_array_equal(clf.snapshot_networks_, [[True], [True]])
    assert clf.member_predict_proba(X).shape == (2, len(X), 3)


def test_non_finite_weights_of_one_network_at_a_cycle_end_refuse_its_snapshot(two_classes):
    X, y = two_classes
    n_steps = 6 * 4  # 100 rows in batches of 32: 4 steps per epoch
    end_of_second = int(np.cumsum(cycle_lengths(n_steps, 3))[1])
    clf = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(8,),
        n_cycles=3,
        epochs=6,
        n_networks=2,
        callbacks=[PoisonNetworkAtStep(network=0, step=end_of_second)],
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match=r"network 0\b"):
        clf.fit(X, y)
    np.testing.assert_array_equal(
        clf.snapshot_networks_, [[True, True], [False, True], [False, True]]
    )
    members = clf.member_predict_proba(X)
    assert members.shape == (4, len(X), 2)
    assert np.all(np.isfinite(clf.predict_proba(X)))
    want = _hand_member_probas(clf, X, [(0, 0), (0, 1), (1, 1), (2, 1)])
    np.testing.assert_allclose(members, want, atol=1e-5)


@pytest.fixture(scope="module")
def all_failed(three_classes):
    """Network 0 of 2 turns NaN when cycle 2 of 4 begins, network 1 when cycle 3 begins."""
    X, y = three_classes
    clf = SnapshotEnsembleClassifier(
        **FAULT_PARAMS, n_networks=2, callbacks=[PoisonNetworks({0: 1, 1: 2})]
    )
    with pytest.warns(ConvergenceWarning, match="network") as record:
        clf.fit(X, y)
    return clf, _convergence_messages(record)


def test_the_run_stops_when_every_network_has_failed(all_failed, three_classes):
    clf, messages = all_failed
    X, _ = three_classes
    assert any("network 0" in m for m in messages)
    # Cycle 3 finished no network: no snapshot, as for a single network.
    assert len(clf.snapshots_) == 2
    np.testing.assert_array_equal(clf.snapshot_networks_, [[True, True], [False, True]])
    members = clf.member_predict_proba(X)
    assert members.shape == (3, len(X), 3)
    want = _hand_member_probas(clf, X, [(0, 0), (0, 1), (1, 1)])
    np.testing.assert_allclose(members, want, atol=1e-5)
    np.testing.assert_allclose(clf.predict_proba(X), want.mean(axis=0), atol=1e-5)


def test_the_last_network_to_fail_is_named_too(all_failed):
    _, messages = all_failed
    assert any("network 1" in m for m in messages), messages


def test_every_network_failing_before_the_first_snapshot_raises(three_classes):
    X, y = three_classes
    clf = SnapshotEnsembleClassifier(
        **FAULT_PARAMS, n_networks=2, callbacks=[PoisonNetworks({0: 0, 1: 0})]
    )
    with pytest.raises(FloatingPointError, match="took no snapshot"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        clf.predict(X)


def test_a_failed_fit_leaves_a_fitted_multi_network_estimator_as_it_was(three_classes):
    X, y = three_classes
    clf = SnapshotEnsembleClassifier(**FAULT_PARAMS, n_networks=2).fit(X, y)
    expected = clf.predict_proba(X)
    snapshots = [[w.copy() for w in s] for s in clf.snapshots_]
    mask = clf.snapshot_networks_.copy()
    clf.set_params(callbacks=[PoisonNetworks({0: 0, 1: 0})])
    with pytest.raises(FloatingPointError, match="took no snapshot"):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.snapshot_networks_, mask)
    assert len(clf.snapshots_) == len(snapshots)
    for kept, before in zip(clf.snapshots_, snapshots, strict=True):
        for a, b in zip(kept, before, strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(clf.predict_proba(X), expected)


# -- what n_networks does not do ---------------------------------------------------------------
def _user_network(meta=None):
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    return model


@pytest.mark.parametrize("model", [_user_network, _user_network()], ids=["callable", "instance"])
def test_a_user_model_with_several_networks_is_refused(three_classes, model):
    X, y = three_classes
    clf = SnapshotEnsembleClassifier(model, n_cycles=2, epochs=2, n_networks=2, random_state=0)
    with pytest.raises(ValueError, match="n_networks"):
        clf.fit(X, y)
    assert not hasattr(clf, "snapshots_")
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        clf.predict(X)


@pytest.mark.parametrize("model", [_user_network, _user_network()], ids=["callable", "instance"])
def test_auto_trains_one_network_of_your_own_model(three_classes, model):
    X, y = three_classes
    clf = SnapshotEnsembleClassifier(model, n_cycles=2, epochs=2, random_state=0)
    assert clf.n_networks == "auto"
    clf.fit(X, y)
    assert clf.snapshot_networks_.shape == (2, 1)
    assert clf.member_predict_proba(X).shape == (2, len(X), 3)


@pytest.mark.parametrize("estimator", [SnapshotEnsembleClassifier, SnapshotEnsembleRegressor])
def test_auto_trains_four_default_networks(three_classes, estimator):
    X, y = three_classes
    est = estimator(**TINY, n_networks="auto").fit(X, y)
    assert est.snapshot_networks_.shape == (3, 4)
    kernel = est.snapshots_[-1][0]
    assert kernel.shape == (4, X.shape[1], 8)  # the stacked (network, in, out) kernel
    # Warm start compares the fitted networks with what "auto" resolves to, not the string.
    est.set_params(warm_start=True).fit(X, y)
    assert est.snapshot_networks_.shape == (6, 4)


@pytest.mark.parametrize("n_networks", [0, -1, 1.5, "2"])
def test_n_networks_must_be_a_positive_integer(three_classes, n_networks):
    X, y = three_classes
    clf = SnapshotEnsembleClassifier(**TINY, n_networks=n_networks)
    with pytest.raises(ValueError, match="n_networks"):
        clf.fit(X, y)


# -- persistence, cloning, determinism -------------------------------------------------------------
def _assert_same_members(restored, original, X):
    np.testing.assert_array_equal(restored.predict_proba(X), original.predict_proba(X))
    np.testing.assert_array_equal(
        restored.member_predict_proba(X), original.member_predict_proba(X)
    )
    assert restored.n_networks == original.n_networks
    assert restored.snapshot_networks_.dtype == np.bool_
    np.testing.assert_array_equal(restored.snapshot_networks_, original.snapshot_networks_)
    assert len(restored.snapshots_) == len(original.snapshots_)
    for got, want in zip(restored.snapshots_, original.snapshots_, strict=True):
        for a, b in zip(got, want, strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def test_pickle_round_trip_keeps_the_networks(faulty, three_classes):
    clf, _ = faulty  # a mask with False entries
    X, _ = three_classes
    with _params(clf, callbacks=None):  # the test's callback is no part of the question
        restored = pickle.loads(pickle.dumps(clf))
    _assert_same_members(restored, clf, X)


def test_save_load_round_trip_keeps_the_networks(faulty, three_classes, tmp_path):
    clf, _ = faulty
    X, _ = three_classes
    with _params(clf, callbacks=None):  # the test's callback is no part of the question
        restored = load(save(clf, tmp_path / "clf"))
    assert restored.get_params()["n_networks"] == 3
    _assert_same_members(restored, clf, X)


def test_save_load_round_trip_of_a_multi_network_regressor(regressor, regression, tmp_path):
    X, _ = regression
    restored = load(save(regressor, tmp_path / "reg"))
    np.testing.assert_array_equal(restored.member_predict(X), regressor.member_predict(X))
    mean, std = restored.predict(X, return_std=True)
    want_mean, want_std = regressor.predict(X, return_std=True)
    np.testing.assert_array_equal(mean, want_mean)
    np.testing.assert_array_equal(std, want_std)
    np.testing.assert_array_equal(restored.snapshot_networks_, regressor.snapshot_networks_)


def test_clone_keeps_n_networks():
    for cls in (SnapshotEnsembleClassifier, SnapshotEnsembleRegressor):
        est = cls(n_networks=4)
        assert est.get_params()["n_networks"] == 4
        assert clone(est).n_networks == 4
    assert SnapshotEnsembleClassifier().n_networks == "auto"  # issue 14's default
    assert clone(SnapshotEnsembleClassifier()).n_networks == "auto"
    assert SnapshotEnsembleRegressor().n_networks == 1


def test_same_random_state_gives_the_same_networks(classifier, three_classes):
    X, y = three_classes
    again = SnapshotEnsembleClassifier(**TINY, n_networks=3).fit(X, y)
    assert len(again.snapshots_) == len(classifier.snapshots_) == 3
    for a_snapshot, b_snapshot in zip(again.snapshots_, classifier.snapshots_, strict=True):
        for a, b in zip(a_snapshot, b_snapshot, strict=True):
            np.testing.assert_array_equal(a, b)


# -- what Keras logs: one full-batch step per cycle --------------------------------------------
# With batch_size=-1 and as many epochs as cycles, every cycle is one step on all training
# rows: the cycle's logged training loss and accuracy are those of the weights before the
# step (the start weights, then the previous snapshot), its validation scores those of
# the cycle's snapshot. validation_split=0.25 keeps the last 30 of 120 rows.
@pytest.fixture(scope="module")
def logged(three_classes):
    X, y = three_classes
    start = StartWeights()
    clf = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(8,),
        n_cycles=3,
        epochs=3,
        batch_size=-1,
        max_learning_rate=0.5,
        validation_split=0.25,
        metrics=["accuracy"],
        n_networks=2,
        callbacks=[start],
        random_state=0,
    ).fit(X, y)
    before = [start.weights[0], *clf.snapshots_[:-1]]  # the weights each cycle began with
    return clf, before


def test_logged_training_loss_is_the_sum_of_the_networks_losses(logged, three_classes):
    clf, before = logged
    X, y = three_classes
    X, y = X[:90], y[:90]
    want = [
        sum(_cross_entropy(_probabilities(_network(w, n), X), y) for n in range(2)) for w in before
    ]
    assert len(clf.history_["loss"]) == 3
    np.testing.assert_allclose(clf.history_["loss"], want, rtol=1e-4)


def test_accuracy_is_scored_on_the_mean_of_the_networks_outputs(logged, three_classes):
    clf, before = logged
    X, y = three_classes
    X, y = X[:90], y[:90]
    want = [
        np.mean(
            np.mean([_probabilities(_network(w, n), X) for n in range(2)], axis=0).argmax(1) == y
        )
        for w in before
    ]
    each = [
        np.mean([np.mean(_probabilities(_network(w, n), X).argmax(1) == y) for n in range(2)])
        for w in before
    ]
    assert not np.allclose(want, each)  # the mean of the networks' accuracies is another thing
    accuracy = np.asarray(clf.history_["accuracy"])
    assert accuracy.shape == (3,)
    assert np.all((accuracy >= 0) & (accuracy <= 1))
    np.testing.assert_allclose(accuracy, want, atol=1e-6)


def test_validation_scores_are_those_of_every_cycles_snapshot(logged, three_classes):
    clf, _ = logged
    X, y = three_classes
    X, y = X[90:], y[90:]
    member = [[_probabilities(_network(s, n), X) for n in range(2)] for s in clf.snapshots_]
    want_loss = [sum(_cross_entropy(p, y) for p in pair) for pair in member]
    want_accuracy = [np.mean(np.mean(pair, axis=0).argmax(1) == y) for pair in member]
    assert len(clf.history_["val_loss"]) == len(clf.history_["val_accuracy"]) == 3
    np.testing.assert_allclose(clf.history_["val_loss"], want_loss, rtol=1e-4)
    np.testing.assert_allclose(clf.history_["val_accuracy"], want_accuracy, atol=1e-6)


# -- warm start and n_members="auto" ------------------------------------------------------------
def test_warm_start_appends_snapshots_of_every_network(three_classes):
    X, y = three_classes
    recorder = StartWeights()
    clf = SnapshotEnsembleClassifier(**TINY, n_networks=2, callbacks=[recorder]).fit(X, y)
    assert clf.snapshot_networks_.shape == (3, 2)
    clf.set_params(warm_start=True)
    assert_continues(clf, recorder, lambda: clf.fit(X, y), n_new_cycles=3)
    assert [w.shape[0] for w in recorder.weights[-1]] == [2] * 4
    assert clf.snapshot_networks_.dtype == np.bool_
    np.testing.assert_array_equal(clf.snapshot_networks_, np.ones((6, 2), dtype=bool))
    members = clf.member_predict_proba(X)
    assert members.shape == (12, len(X), 3)
    np.testing.assert_allclose(members, _hand_member_probas(clf, X), atol=1e-5)
    assert len(list(clf.staged_predict_proba(X))) == 6
    # Continuing needs the same networks.
    expected = clf.predict_proba(X)
    clf.set_params(n_networks=3)
    with pytest.raises(ValueError, match="n_networks"):
        clf.fit(X, y)
    assert len(clf.snapshots_) == 6
    np.testing.assert_array_equal(clf.predict_proba(X), expected)


def test_auto_members_chooses_a_number_of_snapshots_for_all_networks(three_classes):
    X, y = three_classes
    seed = 3
    clf = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(8,),
        n_cycles=4,
        epochs=12,
        max_learning_rate=0.1,
        validation_fraction=0.2,
        n_members="auto",
        n_networks=2,
        random_state=seed,
    ).fit(X, y)
    # The held-out rows, as scikit-learn's MLP splits them (see test_n_members_auto).
    _, X_held, _, y_held = train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed)
    assert len(clf.snapshots_) == 4
    assert clf.holdout_losses_.shape == (4,)
    members = _hand_member_probas(clf, X_held).reshape(4, 2, len(X_held), 3)
    ensembles = [members[4 - k :].mean(axis=(0, 1)) for k in range(1, 5)]
    want = [log_loss(y_held, p, labels=[0, 1, 2]) for p in ensembles]
    np.testing.assert_allclose(clf.holdout_losses_, want, rtol=1e-4)
    assert isinstance(clf.n_members_, int)
    assert 1 <= clf.n_members_ <= 4
    best = max(k for k in range(1, 5) if clf.holdout_losses_[k - 1] == clf.holdout_losses_.min())
    assert clf.n_members_ == best
    np.testing.assert_allclose(clf.predict_proba(X_held), ensembles[best - 1], atol=1e-5)
