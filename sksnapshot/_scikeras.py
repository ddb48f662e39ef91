"""The adapter to scikeras: the only module of sksnapshot that imports it.

scikeras 0.13 (April 2024) is its last release. Our estimators are plain scikit-learn
estimators (``ClassifierMixin`` / ``RegressorMixin`` then ``BaseEstimator``) and use
scikeras by composition, through this module, for what it does well:

* routed parameters (``model__*``, ``optimizer__*``, ``loss__*``, ``metrics__*``,
  ``fit__*``, ``callbacks__*``, ...): :class:`RoutedParamsMixin` stores and reports them,
* building and compiling the Keras model from ``model`` (``None``, a callable that may
  take ``meta``, ``compile_kwargs``, ``params`` and routed ``model__*`` arguments, or a
  ``keras.Model``), ``optimizer``, ``loss`` and ``metrics``: :class:`KerasBackend`,
* encoding the targets (class labels to integers or one-hot rows, regression targets to
  2-D float arrays) and the metadata that goes with it (``classes_``, ``n_outputs_`` ...).

Data validation is scikit-learn's, done once by the estimator; the wrapper object made
here only records the validated arrays' dtypes and shapes. Importing scikeras also makes
Keras models, losses, metrics and optimizers picklable (scikeras sets their
``__reduce__``), which ``pickle``, ``clone`` of fitted models and ``joblib`` rely on.
"""

import functools
import inspect

import keras
import numpy as np
from scikeras._utils import route_params
from scikeras.utils.transformers import _is_categorical_crossentropy
from scikeras.wrappers import KerasClassifier, KerasRegressor
from sklearn.base import is_classifier

from ._seeding import isolated_default_seeds, seeded
from ._stacked import SummedNetworkLoss

__all__ = [
    "KerasBackend",
    "RoutedParamsMixin",
    "is_categorical_crossentropy",
    "rebuild_target_encoder",
    "ROUTING_PREFIXES",
]

#: Prefixes of routed parameters, as scikeras defines them (``model__units`` ...).
ROUTING_PREFIXES = frozenset(KerasClassifier._routing_prefixes)

#: Parameters of ``Model.fit`` that a routed ``fit__*`` or the estimator may set.
_FIT_ARGUMENTS = frozenset(KerasRegressor._fit_kwargs)


def _is_routed(name):
    return "__" in name and name.split("__", 1)[0] in ROUTING_PREFIXES


class RoutedParamsMixin:
    """``get_params`` / ``set_params`` that also carry scikeras' routed parameters.

    Routed parameters are the ``**kwargs`` of the estimators' ``__init__``
    (``model__units=8``, ``optimizer__nesterov=True`` ...): they are stored as attributes
    under their own names and reported by ``get_params``, so that ``clone`` and
    ``GridSearchCV`` carry them. ``set_params`` accepts any routed name, as scikeras does
    (they are checked when the network is built).
    """

    def _store_routed(self, kwargs):
        vars(self).update(kwargs)
        if kwargs:
            self._user_params = set(getattr(self, "_user_params", ())) | set(kwargs)

    def _routed_params(self):
        return {name: getattr(self, name) for name in sorted(getattr(self, "_user_params", ()))}

    def get_params(self, deep=True):
        """Get the parameters of this estimator, routed parameters included.

        Parameters
        ----------
        deep : bool, default=True
            If True, also return the parameters of contained estimators (as in
            scikit-learn).

        Returns
        -------
        params : dict
            Parameter names mapped to their values: the named parameters of ``__init__``
            and the routed scikeras parameters given to it or to ``set_params``
            (``model__*``, ``optimizer__*``, ``loss__*``, ``fit__*``, ...), so that
            ``clone`` and ``GridSearchCV`` carry them.
        """
        params = super().get_params(deep=deep)
        params.update(self._routed_params())
        return params

    def set_params(self, **params):
        """Set the parameters of this estimator, routed parameters included.

        Parameters
        ----------
        **params : dict
            Estimator parameters. Any routed scikeras parameter (``model__units=8``,
            ``optimizer__nesterov=True``, ``fit__*``, ...) is accepted, and checked
            when the network is built; the other names must be parameters of
            ``__init__``, as in scikit-learn.

        Returns
        -------
        self : estimator instance
            The estimator.
        """
        routed = {name: value for name, value in params.items() if _is_routed(name)}
        self._store_routed(routed)
        rest = {name: value for name, value in params.items() if name not in routed}
        if rest:
            super().set_params(**rest)
        return self

    def _check_routed_params(self):
        """Refuse ``**kwargs`` that are not routed parameters (a misspelt name, say)."""
        unknown = sorted(k for k in getattr(self, "_user_params", ()) if not _is_routed(k))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected parameters {unknown}; only routed "
                "parameters such as model__units or optimizer__nesterov may be passed "
                "besides the named ones."
            )


def _wrapper_methods(base):
    """scikeras' wrapper ``base`` with the hooks the snapshot estimators need."""

    class Wrapper(base):
        def _check_model_param(self):
            # scikeras accepts functions only; a bound method (the estimator's default
            # network builder) or any other callable works here too.
            model = self.model
            if isinstance(model, keras.Model):
                return lambda: model
            if callable(model):
                return model
            raise TypeError(
                "model must be None (the default MLP), a callable that returns a "
                f"keras.Model, or a keras.Model; got {type(model).__name__}."
            )

        def _build_keras_model(self):
            # scikeras seeds Python's shared `random` for the build, but other threads of
            # the process (a dask worker's event loop) may draw from it too: this
            # thread's Keras default seeds come from its own generator. And the seeds
            # are set here, by _seeding.seeded, which keeps TensorFlow's kernel cache
            # for the default network (scikeras' own context would clear it).
            seed = self._random_state
            if seed is None:
                return super()._build_keras_model()
            self._random_state = None  # scikeras would seed again, clearing the cache
            try:
                with seeded(int(seed), self._reset_kernels), isolated_default_seeds(int(seed)):
                    return super()._build_keras_model()
            finally:
                self._random_state = seed

        def _get_compile_kwargs(self):
            # scikeras makes the optimizer from a name by making one to learn its class,
            # then another: make it once, with the estimator's momentum (SGD), and under
            # a fixed name. Keras names optimizers sgd_1, sgd_2, ... and their variables
            # after them; TensorFlow caches one kernel per variable name, so a new name
            # costs about 1 ms per variable and keeps a kernel for good.
            if isinstance(self.optimizer, str):
                self.optimizer = _optimizer_class(self.optimizer)
            optimizer, params = self.optimizer, self.get_params()
            if inspect.isclass(optimizer) and issubclass(optimizer, keras.optimizers.Optimizer):
                routed = {}
                if optimizer.__module__.startswith("keras.") and "optimizer__name" not in params:
                    routed["optimizer__name"] = optimizer.__name__.lower()
                if (
                    issubclass(optimizer, keras.optimizers.SGD)
                    and "optimizer__momentum" not in params
                ):
                    routed["optimizer__momentum"] = self.momentum
                vars(self).update(routed)
                self._user_params = set(self._user_params) | set(routed)
            return super()._get_compile_kwargs()

        def _check_model_compatibility(self, y):
            loss = getattr(self.model_, "loss", None)
            if not isinstance(loss, SummedNetworkLoss):
                return super()._check_model_compatibility(y)
            # The stacked default network compiles the sum of the given loss over its
            # networks: scikeras' check would see another loss than the one given.
            expected = getattr(self, "n_outputs_expected_", None)
            if expected and expected != len(self.model_.outputs):
                raise ValueError(
                    f"Detected a Keras model input of size {expected}, but the network "
                    f"has {len(self.model_.outputs)} outputs."
                )
            return None

        def _record_data(self, X, y):
            """scikeras' bookkeeping of the (already validated) arrays, no checks."""
            self.X_dtype_, self.X_shape_, self.n_features_in_ = X.dtype, X.shape, X.shape[1]
            if y is not None:
                self.target_type_ = self._type_of_target(y)
                self.y_dtype_, self.y_ndim_ = y.dtype, y.ndim

    Wrapper.__name__ = Wrapper.__qualname__ = f"_Snapshot{base.__name__}"
    return Wrapper


@functools.lru_cache(maxsize=32)
def _optimizer_class(name):
    """The class of the Keras optimizer ``name`` (Keras makes one to tell)."""
    return type(keras.optimizers.get(name))


_CLASSIFIER_WRAPPER = _wrapper_methods(KerasClassifier)
_REGRESSOR_WRAPPER = _wrapper_methods(KerasRegressor)

#: Fitted attributes scikeras' encoders and bookkeeping give the estimator.
_META = (
    "X_dtype_",
    "X_shape_",
    "y_dtype_",
    "y_ndim_",
    "target_type_",
    "classes_",
    "n_classes_",
    "n_outputs_",
    "n_outputs_expected_",
)


class KerasBackend:
    """Build, compile and feed one estimator's Keras network with scikeras' machinery.

    Made afresh from the estimator's current parameters whenever it is needed (it holds
    no state of its own beyond them).

    Parameters
    ----------
    estimator : SnapshotEnsembleClassifier or SnapshotEnsembleRegressor
        Its parameters (``get_params``) and its ``_build_default_model(meta,
        compile_kwargs)`` for ``model=None``.
    random_state : int or None
        The integer seed of this fit (scikeras draws one from a ``RandomState``).
    """

    #: Fitted attributes scikeras' encoders and bookkeeping give the estimator.
    META = _META

    def __init__(self, estimator, random_state):
        params = estimator.get_params(deep=False)
        default_network = params.get("model") is None
        if default_network:
            params["model"] = estimator._build_default_model
        classifier = is_classifier(estimator)
        base = _CLASSIFIER_WRAPPER if classifier else _REGRESSOR_WRAPPER
        routed = {k: v for k, v in params.items() if _is_routed(k)}
        named = {k: v for k, v in params.items() if k not in routed}
        wrapper = base(**named)
        vars(wrapper).update(routed)
        wrapper._user_params = set(routed)
        wrapper._random_state = random_state
        # Whether a seeded build resets TensorFlow's stateful random kernels (a model
        # of the user's may use them; see _seeding.seeded).
        wrapper._reset_kernels = not default_network
        if classifier:
            wrapper.classes_ = None
        self._wrapper = wrapper

    def fit_arguments(self):
        """``Model.fit`` arguments: the estimator's, overridden by routed ``fit__*``."""
        wrapper = self._wrapper
        fit_kwargs = _FIT_ARGUMENTS - (
            {"class_weight"} if isinstance(wrapper, KerasClassifier) else set()
        )
        return route_params(wrapper.get_params(), destination="fit", pass_filter=fit_kwargs)

    def callbacks(self):
        """The Keras callbacks of ``callbacks`` / ``fit__callbacks`` (with routed args)."""
        self._wrapper._initialize_callbacks()
        callbacks = self._wrapper._fit_callbacks
        del self._wrapper._fit_callbacks, self._wrapper._predict_callbacks
        return callbacks

    def new_network(self, X, y):
        """Fit the target encoder on ``y`` and build and compile the network.

        Returns the compiled ``keras.Model``, the fitted target encoder and the
        metadata (a dict of the fitted attributes in :data:`_META` that apply).
        """
        wrapper = self._wrapper
        wrapper._record_data(X, y)
        wrapper.target_encoder_ = wrapper.target_encoder.fit(y)
        vars(wrapper).update(getattr(wrapper.target_encoder_, "get_metadata", dict)())
        meta = {name: getattr(wrapper, name) for name in _META if hasattr(wrapper, name)}
        model = wrapper._build_keras_model()
        self._compiled(model)
        return model, wrapper.target_encoder_, meta

    def continued_network(self, model, target_encoder, meta):
        """Prepare a fitted network for more training (``warm_start``)."""
        vars(self._wrapper).update(meta)
        self._wrapper.target_encoder_ = target_encoder
        self._compiled(model)
        return model

    def _compiled(self, model):
        wrapper = self._wrapper
        wrapper.model_ = model
        wrapper._ensure_compiled_model()

    def encode_targets(self, y):
        """The targets as the network trains on them; checks they match its outputs."""
        wrapper = self._wrapper
        encoded = wrapper.target_encoder_.transform(y)
        wrapper._check_model_compatibility(encoded)
        return encoded


def is_categorical_crossentropy(loss):
    """Whether scikeras one-hot encodes the classes for ``loss`` (categorical CE)."""
    return _is_categorical_crossentropy(loss)


def rebuild_target_encoder(estimator):
    """The fitted target encoder of a loaded estimator, from its stored metadata."""
    backend = KerasBackend(estimator, random_state=None)
    wrapper = backend._wrapper
    if is_classifier(estimator):
        wrapper.classes_ = estimator.classes_
        dummy_y = np.asarray(estimator.classes_)[:1]
    else:
        shape = (1,) if estimator.y_ndim_ == 1 else (1, estimator.n_outputs_expected_)
        dummy_y = np.zeros(shape, dtype=estimator.y_dtype_)
    return wrapper.target_encoder.fit(dummy_y)
