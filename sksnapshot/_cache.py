"""Compiled TensorFlow functions shared between networks of one structure.

Tracing (and compiling) a training program or a member forward costs more than a small
fit itself, so both are shared between networks that compute the same function of their
weights: :func:`network_key` and :func:`program_key` say when two networks (and their
compile configurations) are interchangeable, and :class:`SharedCache` keeps the most
recently used compiled objects under those keys.
"""

import collections
import json
import threading
import warnings
import weakref

import keras
import numpy as np

__all__ = ["SharedCache", "network_key", "program_key"]


class SharedCache:
    """A thread-safe least-recently-used store of at most ``max_size`` objects."""

    def __init__(self, max_size):
        self.max_size = max_size
        self._items = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        """The object under ``key`` (now the most recently used), or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def add(self, key, value):
        """Keep ``value`` under ``key`` unless another thread did first; return the kept one."""
        with self._lock:
            value = self._items.setdefault(key, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_size:
                self._items.popitem(last=False)
            return value

    def clear(self):
        with self._lock:
            self._items.clear()

    def __len__(self):
        return len(self._items)


#: Keras layers whose configuration and variables are their whole state: a network made
#: of these alone computes the same function as any other with the same configuration.
SHAREABLE_LAYERS = frozenset(
    {
        "InputLayer",
        "Dense",
        "EinsumDense",
        "Dropout",
        "AlphaDropout",
        "GaussianDropout",
        "GaussianNoise",
        "BatchNormalization",
        "LayerNormalization",
        "Activation",
        "ReLU",
        "LeakyReLU",
        "ELU",
        "PReLU",
        "Softmax",
        "Flatten",
        "Reshape",
        "Add",
        "Concatenate",
    }
)

#: The package's own Keras objects (:mod:`sksnapshot._stacked`): built-in Keras inside.
SHAREABLE_OWN = frozenset({"SummedNetworkLoss", "NetworkMeanMetric"})


def _shareable(config):
    """True when a serialised configuration holds only Keras' own, shareable objects."""
    if isinstance(config, dict):
        # A lambda (its byte code under "value") or a Python function: user code.
        if config.get("class_name") == "__lambda__" or ("value" in config and len(config) == 1):
            return False
        module = config.get("module")
        if module is not None:
            module = str(module)
            if module == "sksnapshot._stacked":  # the stacked networks' loss and metrics
                return config.get("class_name") in SHAREABLE_OWN and all(
                    _shareable(v) for v in config.values()
                )
            if not module.startswith("keras"):
                return False
            if module.startswith("keras.layers") and config.get("class_name") not in (
                SHAREABLE_LAYERS
            ):
                return False
        return all(_shareable(v) for v in config.values())
    if isinstance(config, (list, tuple)):
        return all(_shareable(v) for v in config)
    return config is None or isinstance(config, (str, int, float, bool))


def _key(parts):
    if not _shareable(parts):
        return None
    try:
        return json.dumps(parts, sort_keys=True)
    except (TypeError, ValueError):
        return None


def _renamed_references(value, names):
    """``value`` with every ``keras_history`` layer reference renamed through ``names``."""
    if isinstance(value, dict):
        renamed = {k: _renamed_references(v, names) for k, v in value.items()}
        history = value.get("keras_history")
        if isinstance(history, (list, tuple)) and history and history[0] in names:
            renamed["keras_history"] = [names[history[0]], *history[1:]]
        return renamed
    if isinstance(value, (list, tuple)):
        return [_renamed_references(v, names) for v in value]
    return value


def _renamed_endpoints(endpoints, names):
    """``input_layers`` / ``output_layers``: ``[name, i, j]`` or a list of those."""
    if isinstance(endpoints, (list, tuple)) and endpoints and isinstance(endpoints[0], str):
        return [names.get(endpoints[0], endpoints[0]), *endpoints[1:]]
    if isinstance(endpoints, (list, tuple)):
        return [_renamed_endpoints(e, names) for e in endpoints]
    return endpoints


#: The serialised configurations of the networks seen: a fitted network's, computed for
#: its training program's key, serves its forward's. Serialising a network costs more
#: than predicting with it.
_CONFIGS = weakref.WeakKeyDictionary()
_CONFIGS_LOCK = threading.Lock()


def _network_json(model):
    """:func:`_network_config` as a key (None: not shareable), kept for ``model``.

    Kept while the network's layers stay the same ones, built as they were.
    """
    stamp = (model.built, tuple((id(layer), layer.built) for layer in model.layers))
    with _CONFIGS_LOCK:
        kept = _CONFIGS.get(model)
    if kept is not None and kept[0] == stamp:
        return kept[1]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras warns when it serialises a lambda
            key = _key(_network_config(model))
    except Exception:  # noqa: BLE001 - anything not serialisable is simply not shared
        key = None
    with _CONFIGS_LOCK:
        _CONFIGS[model] = (stamp, key)
    return key


def _network_config(model):
    """The network's configuration with its names replaced by positions.

    Layer and model names do not change what a network computes, and Keras numbers them
    per process (``dense_3``, ``dense_4``, ...): two builds of the same network get the
    same configuration here. Only functional and sequential networks of
    :data:`SHAREABLE_LAYERS` (no nested models) are accepted; anything else raises.
    """
    config = keras.saving.serialize_keras_object(model)
    if config.get("class_name") not in ("Functional", "Sequential") or config.get("module") not in (
        "keras",
        "keras.models",
        "keras.src.models.functional",
    ):
        raise TypeError("only functional and sequential networks are shared")
    inner = dict(config["config"])
    layers = inner["layers"]
    names = {}
    for index, layer in enumerate(layers):
        if layer.get("module") != "keras.layers":
            raise TypeError("only built-in layers are shared")
        names[layer["config"]["name"]] = f"layer_{index}"
        if layer.get("name") is not None:
            names[layer["name"]] = f"layer_{index}"
    renamed = []
    for layer in layers:
        layer = _renamed_references(layer, names)
        layer["config"] = {**layer["config"], "name": names[layer["config"]["name"]]}
        if layer.get("name") is not None:
            layer["name"] = names[layer["name"]]
        renamed.append(layer)
    inner["layers"] = renamed
    inner["name"] = None
    for endpoints in ("input_layers", "output_layers"):
        if endpoints in inner:
            inner[endpoints] = _renamed_endpoints(inner[endpoints], names)
    return {
        **{k: v for k, v in config.items() if k not in ("compile_config", "config")},
        "config": inner,
    }


def network_key(model):
    """A key equal for networks that compute the same function of their weights, or None.

    Only functional and sequential networks of :data:`SHAREABLE_LAYERS` (the default
    MLP, say) get one: their configuration (names included) then determines the function.
    """
    config = _network_json(model)
    if config is None:
        return None
    return _key(
        {
            "model": config,
            "floatx": keras.backend.floatx(),
            "policy": keras.config.dtype_policy().name,
        }
    )


def program_key(model, arrays):
    """A key under which ``model``'s training program can be shared, or None.

    As :func:`network_key`, and the compile configuration (loss, metrics, the optimizer
    without its learning rate and name) and the training arrays' trailing shapes and
    dtypes must match too, with built-in Keras objects only.
    """
    model_config = _network_json(model)
    if model_config is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras warns when it serialises a lambda
            compile_config = dict(model.get_compile_config() or {})
            optimizer = keras.saving.serialize_keras_object(model.optimizer)
    except Exception:  # noqa: BLE001 - anything not serialisable is simply not shared
        return None
    # The optimizer's learning rate is set by the program and its name only names its
    # variables: neither changes the computation.
    compile_config.pop("optimizer", None)
    optimizer = {**optimizer, "config": dict(optimizer["config"])}
    optimizer["config"].pop("learning_rate", None)
    optimizer["config"].pop("name", None)
    return _key(
        {
            "model": model_config,
            "compile": compile_config,
            "optimizer": optimizer,
            "arrays": [[list(a.shape[1:]), np.dtype(a.dtype).name] for a in arrays],
            "floatx": keras.backend.floatx(),
            "policy": keras.config.dtype_policy().name,
        }
    )
