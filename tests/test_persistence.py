"""Saving without pickle (save/load), and pickle round trips in a fresh process."""

import json
import os
import pickle
import subprocess
import sys
import textwrap

import joblib
import keras
import numpy as np
import pandas as pd
import pytest
from _helpers import StartWeights, assert_continues
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sksnapshot import SnapshotEnsembleClassifier, load, save


@pytest.fixture(scope="module")
def fitted(blobs):
    X, y = blobs
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(8,), n_cycles=3, epochs=6, validation_split=0.2, random_state=0
    )
    return clf.fit(X, names)


def _assert_same_estimator(restored, original, X):
    np.testing.assert_array_equal(restored.predict_proba(X), original.predict_proba(X))
    np.testing.assert_array_equal(restored.predict(X), original.predict(X))
    np.testing.assert_array_equal(
        restored.member_predict_proba(X), original.member_predict_proba(X)
    )
    assert restored.classes_.dtype == original.classes_.dtype
    np.testing.assert_array_equal(restored.classes_, original.classes_)
    assert len(restored.snapshots_) == len(original.snapshots_)
    for got, want in zip(restored.snapshots_, original.snapshots_, strict=True):
        for a, b in zip(got, want, strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(restored.learning_rates_, original.learning_rates_)
    assert dict(restored.history_) == dict(original.history_)
    assert restored.n_features_in_ == original.n_features_in_


def test_a_file_saved_before_n_networks_loads_as_one_network(blobs, tmp_path):
    X, y = blobs
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    fitted = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(8,), n_cycles=3, epochs=6, n_networks=1, random_state=0
    ).fit(X, names)  # files written before n_networks held one network
    folder = save(fitted, tmp_path / "clf")
    path = folder / "estimator.json"
    document = json.loads(path.read_text())
    del document["attributes"]["snapshot_networks_"]  # as the format was written before
    del document["params"]["n_networks"]
    path.write_text(json.dumps(document))
    restored = load(folder)
    np.testing.assert_array_equal(restored.snapshot_networks_, np.ones((3, 1), dtype=bool))
    # Its parameter says one network, not today's default ("auto": 4), so a warm start
    # continues the file's one network.
    assert restored.n_networks == 1
    _assert_same_estimator(restored, fitted, X)
    restored.set_params(warm_start=True, n_cycles=1).fit(X, names)
    assert restored.snapshot_networks_.shape == (4, 1)


def test_save_load_round_trip_is_bit_identical(fitted, blobs, tmp_path):
    X, _ = blobs
    folder = save(fitted, tmp_path / "clf")
    assert sorted(p.name for p in folder.iterdir()) == [
        "arrays.npz",
        "estimator.json",
        "model.keras",
    ]
    document = json.loads((folder / "estimator.json").read_text())
    assert document["class"] == "SnapshotEnsembleClassifier"
    assert document["unsaved_params"] == {}
    restored = load(folder)
    assert type(restored) is SnapshotEnsembleClassifier
    assert restored.get_params() == fitted.get_params()
    _assert_same_estimator(restored, fitted, X)
    assert list(tmp_path.iterdir()) == [folder]  # no staging directory left behind


def test_a_loaded_estimator_trains_further(fitted, blobs, tmp_path):
    X, y = blobs
    names = fitted.classes_[y]
    recorder = StartWeights()
    restored = load(save(fitted, tmp_path / "clf"), params={"callbacks": [recorder]})
    restored.set_params(warm_start=True)
    # From the saved last snapshot, with the saved history_ extended by three cycles.
    assert_continues(restored, recorder, lambda: restored.fit(X, names), n_new_cycles=3)
    assert len(restored.snapshots_) == 6
    for a, b in zip(restored.snapshots_[2], fitted.snapshots_[2], strict=True):
        np.testing.assert_array_equal(a, b)
    refit = clone(restored).set_params(warm_start=False, callbacks=None).fit(X, names)
    np.testing.assert_array_equal(refit.predict_proba(X), fitted.predict_proba(X))


def test_unfitted_estimator_round_trip(tmp_path):
    clf = SnapshotEnsembleClassifier(
        n_cycles=4,
        hidden_layer_sizes=(3, 2),
        class_weight={0: 1.0, 1: 2.5},
        optimizer=keras.optimizers.Adam,
        loss=keras.losses.SparseCategoricalCrossentropy(name="my_sce"),
        random_state=np.random.RandomState(3),
        optimizer__amsgrad=True,
    )
    restored = load(save(clf, tmp_path / "clf"))
    assert not (tmp_path / "clf" / "model.keras").exists()
    params = restored.get_params()
    assert params["hidden_layer_sizes"] == (3, 2)
    assert params["class_weight"] == {0: 1.0, 1: 2.5}
    assert params["optimizer"] is keras.optimizers.Adam
    assert params["optimizer__amsgrad"] is True
    assert isinstance(params["loss"], keras.losses.SparseCategoricalCrossentropy)
    assert params["loss"].get_config() == clf.loss.get_config()
    assert params["random_state"].randint(1000) == np.random.RandomState(3).randint(1000)
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        restored.predict(np.zeros((1, 2)))


def test_boolean_labels_and_dataframe_feature_names(binary, tmp_path):
    X, y = binary
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = SnapshotEnsembleClassifier(hidden_layer_sizes=(4,), n_cycles=2, epochs=4)
    clf.fit(frame, y.astype(bool))
    restored = load(save(clf, tmp_path / "clf"))
    np.testing.assert_array_equal(restored.feature_names_in_, clf.feature_names_in_)
    assert restored.predict(frame).dtype == np.bool_
    _assert_same_estimator(restored, clf, frame)


def _build(meta, units=5):
    model = keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(units, activation="tanh"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    return model


def test_parameters_holding_code_are_named_and_can_be_given_back(blobs, tmp_path):
    X, y = blobs
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=5)
    clf = SnapshotEnsembleClassifier(
        _build, n_cycles=2, epochs=4, callbacks=[stop], model__units=4, random_state=0
    ).fit(X, y)
    folder = save(clf, tmp_path / "clf")
    unsaved = json.loads((folder / "estimator.json").read_text())["unsaved_params"]
    assert sorted(unsaved) == ["callbacks", "model"]
    with pytest.warns(UserWarning, match="parameters that held code were not saved") as record:
        restored = load(folder)
    message = next(str(w.message) for w in record if "held code" in str(w.message))
    assert "model (function" in message and "is now the saved network" in message
    assert "callbacks" in message and "default None" in message
    assert restored.model is restored.model_
    _assert_same_estimator(restored, clf, X)
    restored = load(folder, params={"model": _build, "callbacks": [stop]})
    assert restored.model is _build and restored.callbacks == [stop]
    assert restored.get_params()["model__units"] == 4
    _assert_same_estimator(restored, clf, X)


def test_a_network_given_as_model_is_stored_once(blobs, tmp_path):
    X, y = blobs
    network = _build({"n_features_in_": 2, "n_classes_": 3})
    clf = SnapshotEnsembleClassifier(network, n_cycles=2, epochs=4, random_state=0)
    unfitted = load(save(clf, tmp_path / "unfitted"))
    assert isinstance(unfitted.model, keras.Model)
    assert [w.shape for w in unfitted.model.get_weights()] == [
        w.shape for w in network.get_weights()
    ]
    clf.fit(X, y)
    restored = load(save(clf, tmp_path / "fitted"))
    assert restored.model is restored.model_
    _assert_same_estimator(restored, clf, X)


def test_save_never_replaces_what_it_should_not(fitted, tmp_path):
    folder = save(fitted, tmp_path / "clf")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save(fitted, folder)
    save(SnapshotEnsembleClassifier(n_cycles=7), folder, overwrite=True)
    assert load(folder).n_cycles == 7
    assert not (folder / "model.keras").exists()
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not an sksnapshot save"):
        save(fitted, other, overwrite=True)
    assert (other / "todo.txt").read_text() == "keep me"
    empty = tmp_path / "empty"
    empty.mkdir()
    save(fitted, empty)
    assert (empty / "estimator.json").exists()
    with pytest.raises(TypeError, match="sksnapshot's estimators"):
        save(object(), tmp_path / "x")


def test_load_refuses_what_is_not_data(fitted, tmp_path):
    folder = save(fitted, tmp_path / "clf")
    document = json.loads((folder / "estimator.json").read_text())

    def tampered(change):
        copy = json.loads(json.dumps(document))
        change(copy)
        (folder / "estimator.json").write_text(json.dumps(copy))

    tampered(lambda d: d.update({"class": "subprocess.Popen"}))
    with pytest.raises(ValueError, match="unknown estimator class"):
        load(folder)
    call = {"module": "os", "class_name": "function", "config": "system"}
    tampered(lambda d: d["params"].update({"activation": {"__keras__": call}}))
    with pytest.raises(TypeError, match="Could not locate function 'system'"):
        load(folder)
    tampered(lambda d: d["params"].update({"optimizer": {"__keras_class__": "os.system"}}))
    with pytest.raises(ValueError, match="not a Keras class"):
        load(folder)
    # An object array would need pickle: numpy refuses it.
    (folder / "estimator.json").write_text(json.dumps(document))
    arrays = dict(np.load(folder / "arrays.npz"))
    arrays["array_0"] = np.array([print], dtype=object)
    np.savez(folder / "arrays.npz", **arrays)
    with pytest.raises(ValueError, match="allow_pickle"):
        load(folder)
    with pytest.raises(FileNotFoundError, match="not an sksnapshot save"):
        load(tmp_path)


def test_pickle_in_a_process_that_never_imported_sksnapshot(fitted, blobs, tmp_path):
    X, _ = blobs
    expected = fitted.predict_proba(X)
    with open(tmp_path / "clf.pkl", "wb") as f:
        pickle.dump(fitted, f)
    joblib.dump(fitted, tmp_path / "clf.joblib")
    np.save(tmp_path / "X.npy", X)
    code = textwrap.dedent(
        f"""
        import pickle, sys
        import joblib, numpy as np
        assert not any(m.startswith(("sksnapshot", "scikeras", "keras", "tensorflow"))
                       for m in sys.modules), "imported too early"
        with open({str(tmp_path / "clf.pkl")!r}, "rb") as f:
            clf = pickle.load(f)
        X = np.load({str(tmp_path / "X.npy")!r})
        np.save({str(tmp_path / "pickle.npy")!r}, clf.predict_proba(X))
        clf = joblib.load({str(tmp_path / "clf.joblib")!r})
        np.save({str(tmp_path / "joblib.npy")!r}, clf.predict_proba(X))
        """
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_array_equal(np.load(tmp_path / "pickle.npy"), expected)
    np.testing.assert_array_equal(np.load(tmp_path / "joblib.npy"), expected)


def test_regressor_with_auto_members_and_a_callable_schedule_round_trip(tmp_path):
    from sklearn.datasets import make_friedman1

    from sksnapshot import SnapshotEnsembleRegressor

    X, y = make_friedman1(n_samples=120, noise=0.5, random_state=0)
    y = np.column_stack([y, -y]) / y.std()

    def schedule(t, T, c):
        return 0.01 * (1 - t / T)

    reg = SnapshotEnsembleRegressor(
        hidden_layer_sizes=(8,),
        n_cycles=3,
        epochs=6,
        n_members="auto",
        schedule=schedule,
        random_state=0,
    ).fit(X, y)
    folder = save(reg, tmp_path / "reg")
    with pytest.warns(UserWarning, match="schedule"):
        restored = load(folder)
    assert type(restored) is SnapshotEnsembleRegressor
    assert restored.n_members_ == reg.n_members_
    np.testing.assert_array_equal(restored.holdout_losses_, reg.holdout_losses_)
    np.testing.assert_array_equal(restored.predict(X), reg.predict(X))
    mean, std = restored.predict(X, return_std=True)
    np.testing.assert_array_equal(std, reg.predict(X, return_std=True)[1])
    restored = load(folder, params={"schedule": schedule})
    assert restored.schedule is schedule
