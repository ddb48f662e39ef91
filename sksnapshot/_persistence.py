"""Saving and loading estimators without pickle: JSON, numpy arrays and Keras' own format.

``pickle`` (and ``joblib``) files can run any code when they are loaded: a pickle names
functions to call and their arguments, and the unpickler calls them. Load one only if you
trust whoever wrote it. :func:`save` writes a directory that holds no code:

* ``estimator.json``: the class name (looked up among sksnapshot's own estimators), the
  parameters and the fitted attributes as tagged JSON, and the library versions;
* ``arrays.npz``: every array (the snapshots, ``classes_``, ``learning_rates_``, ...),
  read back with ``allow_pickle=False``;
* ``model.keras``: the network in Keras' format, read back with ``safe_mode=True``
  (Keras refuses Python ``lambda`` code, and only resolves Keras' own objects and those
  registered with ``keras.saving.register_keras_serializable`` or passed as
  ``custom_objects``).

Parameters that hold Python code (a function building the network, callbacks, a
user-defined function) cannot be stored this way: :func:`save` records which ones they
were, and :func:`load` restores them from its ``params`` argument, or else sets them to a
stand-in and warns (see :func:`load`).
"""

import inspect
import json
import shutil
import tempfile
import warnings
from collections import defaultdict
from pathlib import Path

import keras
import numpy as np

from ._scikeras import rebuild_target_encoder

__all__ = ["load", "save"]

FORMAT = "sksnapshot-estimator"
FORMAT_VERSION = 1
_JSON, _ARRAYS, _MODEL = "estimator.json", "arrays.npz", "model.keras"
# A network given as the ``model`` parameter that is not (yet) the fitted ``model_``.
_MODEL_PARAM = "model_param.keras"

# Fitted attributes rebuilt on load instead of stored.
_REBUILT = ("model_", "target_encoder_")
# The Keras namespaces a class given as a parameter may come from (optimizer=keras.optimizers.Adam).
_KERAS_NAMESPACES = ("optimizers", "losses", "metrics", "callbacks", "layers", "activations")


class _Unstorable(TypeError):
    """A value that holds code and cannot be written as data."""


def _estimator_classes():
    import sksnapshot

    from ._base import BaseSnapshotEnsemble

    return {
        name: obj
        for name in sksnapshot.__all__
        if isinstance(obj := getattr(sksnapshot, name), type)
        and issubclass(obj, BaseSnapshotEnsemble)
    }


def _keras_class_name(cls):
    if not cls.__module__.startswith("keras"):
        return None
    for namespace in _KERAS_NAMESPACES:
        if getattr(getattr(keras, namespace, None), cls.__name__, None) is cls:
            return f"{namespace}.{cls.__name__}"
    return None


def _keras_class(name):
    namespace, _, attribute = name.partition(".")
    if namespace not in _KERAS_NAMESPACES:
        raise ValueError(f"Refusing to load {name!r}: not a Keras class.")
    obj = getattr(getattr(keras, namespace), attribute, None)
    if not isinstance(obj, type):
        raise ValueError(f"Refusing to load {name!r}: not a Keras class.")
    return obj


def _encode(value, arrays):
    """``value`` as JSON-compatible data; arrays go into ``arrays`` and are referenced."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        return _encode(value.item(), arrays)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.dtype):
        if value.kind == "V":
            raise _Unstorable(f"structured dtype {value}")
        return {"__dtype__": value.str}
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "O":
            return {
                "__object_array__": [_encode(v, arrays) for v in value.ravel()],
                "shape": list(value.shape),
            }
        if value.dtype.kind == "V":
            raise _Unstorable(f"array of dtype {value.dtype}")
        name = f"array_{len(arrays)}"
        arrays[name] = value
        return {"__array__": name}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, (set, frozenset)):
        return {"__set__": [_encode(v, arrays) for v in sorted(value, key=repr)]}
    if isinstance(value, dict):
        default_list = isinstance(value, defaultdict) and value.default_factory is list
        if isinstance(value, defaultdict) and not default_list:
            raise _Unstorable("a defaultdict whose default is not list")
        return {
            "__dict__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in value.items()],
            "default_list": default_list,
        }
    if isinstance(value, np.random.RandomState):
        return {"__random_state__": _encode(value.get_state(), arrays)}
    if isinstance(value, type):
        name = _keras_class_name(value)
        if name is None:
            raise _Unstorable(f"class {value.__module__}.{value.__qualname__}")
        return {"__keras_class__": name}
    return _encode_keras_object(value)


def _encode_keras_object(value):
    """A Keras object (optimizer, loss, metric, Keras or registered function) by its config."""
    try:
        config = keras.saving.serialize_keras_object(value)
        json.dumps(config)
        back = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - anything Keras cannot round-trip is code
        raise _Unstorable(f"{type(value).__name__} object {value!r}") from exc
    if not (back is value or type(back) is type(value)):
        raise _Unstorable(f"{type(value).__name__} object {value!r}")
    return {"__keras__": config}


def _decode(data, arrays, custom_objects):
    if isinstance(data, list):
        return [_decode(v, arrays, custom_objects) for v in data]
    if not isinstance(data, dict):
        return data
    if "__array__" in data:
        return arrays[data["__array__"]]
    if "__object_array__" in data:
        values = [_decode(v, arrays, custom_objects) for v in data["__object_array__"]]
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out.reshape(data["shape"])
    if "__dtype__" in data:
        return np.dtype(data["__dtype__"])
    if "__tuple__" in data:
        return tuple(_decode(v, arrays, custom_objects) for v in data["__tuple__"])
    if "__set__" in data:
        return {_decode(v, arrays, custom_objects) for v in data["__set__"]}
    if "__dict__" in data:
        items = [
            (_decode(k, arrays, custom_objects), _decode(v, arrays, custom_objects))
            for k, v in data["__dict__"]
        ]
        return defaultdict(list, items) if data.get("default_list") else dict(items)
    if "__random_state__" in data:
        state = np.random.RandomState()
        state.set_state(_decode(data["__random_state__"], arrays, custom_objects))
        return state
    if "__keras_class__" in data:
        return _keras_class(data["__keras_class__"])
    if "__keras__" in data:
        return keras.saving.deserialize_keras_object(
            data["__keras__"], custom_objects=custom_objects, safe_mode=True
        )
    raise ValueError(f"Unknown entry in the saved estimator: {sorted(data)}.")


def _versions():
    import sklearn
    import tensorflow as tf

    import sksnapshot

    return {
        "sksnapshot": sksnapshot.__version__,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
    }


def save(estimator, path, *, overwrite=False):
    """Save an sksnapshot estimator to a directory, in a format that holds no code.

    Unlike ``pickle`` and ``joblib``, whose files can run any code when loaded, the
    directory holds JSON, numpy arrays and a Keras ``.keras`` model; :func:`load` reads
    it without running code from it. The estimator may be fitted or not.

    Parameters
    ----------
    estimator : SnapshotEnsembleClassifier
        The estimator to save.
    path : str or path-like
        A directory to create. It is written next to its final place first and moved
        there when complete, so an interrupted save leaves nothing half-written.
    overwrite : bool, default=False
        Replace an existing save at ``path``. A directory that is not empty and is not
        an sksnapshot save is never replaced.

    Returns
    -------
    path : pathlib.Path
        The directory written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and is not empty (and ``overwrite`` is False, or it is not
        an sksnapshot save).

    See Also
    --------
    load : Read the directory back.

    Notes
    -----
    Parameters that hold code (a callable ``model``, ``callbacks``, a function of your
    own) are not stored; their names are recorded, and :func:`load` takes them back in
    its ``params`` argument. Keras objects (optimizers, losses, metrics, Keras
    functions, and objects registered with ``keras.saving.register_keras_serializable``)
    are stored by their Keras config.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.datasets import make_classification
    >>> from sksnapshot import SnapshotEnsembleClassifier, load, save
    >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    >>> clf = SnapshotEnsembleClassifier(hidden_layer_sizes=(8,), n_cycles=3, epochs=6,
    ...                                  random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = save(clf, Path(tmp) / "clf")
    ...     sorted(p.name for p in folder.iterdir())
    ...     restored = load(folder)
    ['arrays.npz', 'estimator.json', 'model.keras']
    >>> bool((restored.predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    classes = _estimator_classes()
    if classes.get(type(estimator).__name__) is not type(estimator):
        raise TypeError(
            f"save stores sksnapshot's estimators ({', '.join(sorted(classes))}), "
            f"not {type(estimator).__name__}."
        )
    path = Path(path)
    if path.exists() and not (path.is_dir() and not any(path.iterdir())):
        if not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
        if not (path / _JSON).is_file():
            raise FileExistsError(
                f"{path} exists and is not an sksnapshot save: it is not replaced."
            )

    arrays = {}
    params, unsaved = {}, {}
    fitted_model = getattr(estimator, "model_", None)
    model_param = None
    for name, value in estimator.get_params(deep=False).items():
        if name == "model" and isinstance(value, keras.Model):
            # scikeras trains a network given as ``model`` in place: after fit it *is*
            # model_. Store it once, as a network.
            if value is fitted_model:
                params[name] = {"__network__": _MODEL}
            else:
                model_param = value
                params[name] = {"__network__": _MODEL_PARAM}
            continue
        try:
            params[name] = _encode(value, arrays)
        except _Unstorable as exc:
            unsaved[name] = str(exc)
    attributes = {}
    for name, value in vars(estimator).items():
        if name in params or name in unsaved or name in _REBUILT:
            continue
        try:
            attributes[name] = _encode(value, arrays)
        except _Unstorable as exc:
            raise TypeError(
                f"Cannot save the attribute {name} of {type(estimator).__name__}: it "
                f"holds {exc}, which cannot be stored as data."
            ) from exc
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": type(estimator).__name__,
        "versions": _versions(),
        "fitted": fitted_model is not None,
        "params": params,
        "unsaved_params": unsaved,
        "attributes": attributes,
    }

    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        (staging / _JSON).write_text(json.dumps(document, indent=1))
        np.savez(staging / _ARRAYS, **arrays)
        if fitted_model is not None:
            keras.saving.save_model(fitted_model, staging / _MODEL)
        if model_param is not None:
            keras.saving.save_model(model_param, staging / _MODEL_PARAM)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            path.replace(old / "save")
            staging.replace(path)
            shutil.rmtree(old)
        else:
            staging.replace(path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def load(path, *, custom_objects=None, params=None):
    """Load an estimator written by :func:`save`, without running code from the files.

    Parameters
    ----------
    path : str or path-like
        The directory :func:`save` wrote.
    custom_objects : dict or None, default=None
        Your own Keras layers, losses, metrics or functions the network uses, by name,
        as for ``keras.saving.load_model`` (objects registered with
        ``keras.saving.register_keras_serializable`` are found without it).
    params : dict or None, default=None
        Parameters to set on the loaded estimator, e.g. those that held code and were
        not saved: ``params={"model": build_model, "callbacks": [...]}``. Prediction
        never needs them; a later ``fit`` does.

    Returns
    -------
    estimator : SnapshotEnsembleClassifier
        The estimator, fitted if it was saved fitted, predicting exactly as it did.

    Warns
    -----
    UserWarning
        For every parameter that held code at save time and is not in ``params``: a
        callable ``model`` becomes the saved network (a ``keras.Model``, so a later
        ``fit`` starts from its trained weights), any other such parameter its default.

    See Also
    --------
    save : Write an estimator in this format.
    """
    path = Path(path)
    if not (path / _JSON).is_file():
        raise FileNotFoundError(f"{path} is not an sksnapshot save (no {_JSON} in it).")
    document = json.loads((path / _JSON).read_text())
    if document.get("format") != FORMAT:
        raise ValueError(f"{path / _JSON} is not an sksnapshot save.")
    if document.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{path} was saved in format version {document['format_version']}; this "
            f"sksnapshot reads versions up to {FORMAT_VERSION}: upgrade sksnapshot."
        )
    classes = _estimator_classes()
    cls = classes.get(document.get("class"))
    if cls is None:
        raise ValueError(f"{path} holds an unknown estimator class {document.get('class')!r}.")
    custom_objects = dict(custom_objects or {})
    params = dict(params or {})

    with np.load(path / _ARRAYS, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    model = None
    if document["fitted"]:
        model = keras.saving.load_model(
            path / _MODEL, custom_objects=custom_objects, compile=True, safe_mode=True
        )

    values = {}
    for name, value in document["params"].items():
        if isinstance(value, dict) and "__network__" in value:
            if value["__network__"] == _MODEL:
                values[name] = model
            else:
                values[name] = keras.saving.load_model(
                    path / _MODEL_PARAM, custom_objects=custom_objects, safe_mode=True
                )
        else:
            values[name] = _decode(value, arrays, custom_objects)
    defaults = {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    stand_ins = []
    for name, what in document["unsaved_params"].items():
        if name in params:
            continue
        if name == "model" and model is not None:
            values[name] = model
            stand_ins.append(f"model ({what}) is now the saved network, a keras.Model")
        elif name in defaults:
            values[name] = defaults[name]
            stand_ins.append(f"{name} ({what}) is now its default {defaults[name]!r}")
        else:
            stand_ins.append(f"{name} ({what}) is left out")
    if stand_ins:
        warnings.warn(
            f"{cls.__name__} loaded from {path}: parameters that held code were not "
            f"saved: {'; '.join(stand_ins)}. Pass them as load(..., params={{...}}) to "
            "restore them.",
            UserWarning,
            stacklevel=2,
        )
    if "n_networks" not in document["params"] and "n_networks" in defaults:
        # Written before n_networks existed: one network, whatever the default is now.
        values["n_networks"] = 1
    values.update(params)
    estimator = cls(**values)
    vars(estimator).update(
        {
            name: _decode(value, arrays, custom_objects)
            for name, value in document["attributes"].items()
        }
    )
    if model is not None:
        _rebuild_fitted_state(estimator, model)
    return estimator


def _rebuild_fitted_state(estimator, model):
    """What ``fit`` built besides the stored attributes: the network and the target encoder."""
    estimator.model_ = model
    estimator.target_encoder_ = rebuild_target_encoder(estimator)
    if not hasattr(estimator, "snapshot_networks_"):  # saved before n_networks: one network
        estimator.snapshot_networks_ = np.ones((len(estimator.snapshots_), 1), dtype=bool)
