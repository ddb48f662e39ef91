"""The snapshot-ensemble machinery on top of scikeras' wrappers.

Everything here that touches scikeras' private hooks (``_check_model_param``,
``_get_compile_kwargs``, ``_fit_keras_model``, ``_validate_data``) lives in this one module,
so that the wrapper underneath could be swapped: scikeras 0.13 is unmaintained.
"""

from contextlib import nullcontext
from numbers import Integral, Real

import keras
import numpy as np
from scikeras._utils import route_params
from scikeras.utils.random_state import tensorflow_random_state
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._faults import conclude_training, restored_on_failure
from ._schedule import SnapshotLearningRateSchedule, cycle_lengths
from ._snapshots import SnapshotCallback, member_outputs
from ._tensorflow import read_determinism_flag, released_graph_state
from ._training import (
    batch_stream,
    cycle_groups,
    execution_size,
    split_validation,
    steps_per_epoch,
)
from ._validation import numeric_conversion_errors

__all__ = ["SnapshotEnsembleMixin"]


def _never(estimator):
    return False


class SnapshotEnsembleMixin:
    """Snapshot training and member prediction for a scikeras wrapper subclass.

    Put it first in the bases (``class X(SnapshotEnsembleMixin, KerasClassifier)``): it
    overrides scikeras' hooks and calls them through ``super()``.
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [str, callable],
        "n_cycles": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "max_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "min_learning_rate": [Interval(Real, 0, None, closed="left")],
        "lr_update": [StrOptions({"batch", "epoch"})],
        "n_members": [None, Interval(Integral, 1, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "batch_size": [
            None,
            Interval(Integral, 1, None, closed="left"),
            Options(Integral, {-1}),
        ],
        "validation_split": [Interval(Real, 0, 1, closed="left")],
        "shuffle": ["boolean"],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def _set_routed_params(self, kwargs):
        """Store scikeras' routed parameters (``model__units=...``) as scikeras does."""
        vars(self).update(kwargs)
        if kwargs:
            self._user_params = set(kwargs)

    # -- parameter checks -------------------------------------------------------
    def _check_snapshot_params(self):
        """Declarative checks, then the relations between parameters."""
        # Before any seeded context: see _tensorflow.read_determinism_flag.
        read_determinism_flag()
        self._validate_params()
        unknown = sorted(k for k in getattr(self, "_user_params", ()) if "__" not in k)
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected parameters {unknown}; only routed "
                "parameters such as model__units or optimizer__nesterov may be passed "
                "besides the named ones."
            )
        if self.min_learning_rate > self.max_learning_rate:
            raise ValueError(
                f"min_learning_rate={self.min_learning_rate} is larger than "
                f"max_learning_rate={self.max_learning_rate}: every cycle anneals from "
                "max_learning_rate down to min_learning_rate."
            )
        hidden = np.asarray(self.hidden_layer_sizes).reshape(-1)
        if self.model is None and (
            not np.issubdtype(hidden.dtype, np.integer) or np.any(hidden < 1)
        ):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}."
            )
        params = self.get_params()
        if "optimizer__learning_rate" in params or "optimizer__lr" in params:
            raise ValueError(
                "The learning rate follows the snapshot schedule: set max_learning_rate "
                "(and min_learning_rate) instead of optimizer__learning_rate."
            )

    # -- scikeras hooks ---------------------------------------------------------
    def _check_model_param(self):
        model = self.model
        if model is None:
            return self._build_default_model
        if isinstance(model, keras.Model):
            return lambda: model
        if callable(model):
            return model
        raise TypeError(
            "model must be None (the default MLP), a callable that returns a keras.Model, "
            f"or a keras.Model; got {type(model).__name__}."
        )

    def _get_compile_kwargs(self):
        kwargs = super()._get_compile_kwargs()
        optimizer = kwargs["optimizer"]
        momentum_routed = "optimizer__momentum" in self.get_params()
        if (
            isinstance(optimizer, keras.optimizers.SGD)
            and not isinstance(self.optimizer, keras.optimizers.Optimizer)
            and not momentum_routed
        ):
            config = {**optimizer.get_config(), "momentum": self.momentum}
            kwargs["optimizer"] = type(optimizer).from_config(config)
        return kwargs

    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        # scikit-learn's checks first (clear messages, sparse refused, the exact
        # n_features_in_ wording), then scikeras' bookkeeping of dtypes and shapes.
        check = {
            "accept_sparse": False,
            "dtype": keras.backend.floatx(),
            "reset": reset,
        }
        with numeric_conversion_errors(self, X, y, y_numeric=y_numeric):
            # When fitting (reset), y=None too goes to scikit-learn: "requires y".
            if X is not None and (y is not None or reset):
                X, y = validate_data(self, X, y, y_numeric=y_numeric, **self._y_check(), **check)
            elif X is not None:
                X = validate_data(self, X, **check)
        return super()._validate_data(X, y, reset=reset, y_numeric=y_numeric)

    def _y_check(self):
        """Extra ``check_X_y`` arguments for the targets (overridden per task)."""
        return {}

    def _fit_keras_model(self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs):
        params = self.get_params()
        fit_args = route_params(params, destination="fit", pass_filter=self._fit_kwargs)
        fit_args.update(kwargs)
        arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
        train, valid = split_validation(arrays, fit_args.get("validation_split", 0.0))
        n_train = len(train[0])
        batch_size = fit_args.get("batch_size") or 32
        batch_size = n_train if batch_size == -1 else min(batch_size, n_train)
        per_epoch = steps_per_epoch(n_train, batch_size)

        if self.lr_update == "batch":
            n_units, steps_per_unit, unit = epochs * per_epoch, 1, "training steps"
        else:
            n_units, steps_per_unit, unit = epochs, per_epoch, "epochs"
        if self.n_cycles > n_units:
            raise ValueError(
                f"n_cycles={self.n_cycles} is larger than the number of {unit} ({n_units}: "
                f"{epochs} epochs of {per_epoch} batches of {batch_size} from {n_train} "
                "rows); every cycle needs at least one. Lower n_cycles or raise epochs."
            )
        schedule = SnapshotLearningRateSchedule(
            n_units,
            self.n_cycles,
            self.max_learning_rate,
            self.min_learning_rate,
            steps_per_unit=steps_per_unit,
        )
        step_lengths = cycle_lengths(n_units, self.n_cycles) * steps_per_unit
        continuing = warm_start and hasattr(self, "snapshots_")
        previous = list(self.snapshots_) if continuing else []

        optimizer = self.model_.optimizer
        optimizer = type(optimizer).from_config(
            {**optimizer.get_config(), "learning_rate": schedule}
        )
        compile_config = keras.saving.deserialize_keras_object(self.model_.get_compile_config())
        snapshotter = SnapshotCallback(np.cumsum(step_lengths))
        # First, so that a finished cycle's snapshot is taken before any other callback.
        callbacks = [snapshotter, *self._fit_callbacks]
        seed = self._training_seed() + len(previous)
        if valid is not None:
            valid_batch = fit_args.get("validation_batch_size") or min(len(valid[0]), 8192)
        context = (
            tensorflow_random_state(self._random_state)
            if self._random_state is not None
            else nullcontext()
        )
        start = 0
        with context, released_graph_state(), snapshotter.interruptible():
            for first, count, length in cycle_groups(step_lengths):
                if snapshotter.stopped:
                    break
                self.model_.compile(
                    **{
                        **compile_config,
                        "optimizer": optimizer,
                        "steps_per_execution": execution_size(length),
                    }
                )
                stream = batch_stream(
                    train,
                    batch_size=batch_size,
                    start_step=start,
                    n_steps=count * length,
                    seed=seed,
                    shuffle=fit_args.get("shuffle", True),
                )
                self.model_.fit(
                    stream,
                    epochs=len(previous) + first + count,
                    initial_epoch=len(previous) + first,
                    steps_per_epoch=length,
                    validation_data=valid,
                    validation_batch_size=valid_batch if valid is not None else None,
                    callbacks=callbacks,
                    shuffle=False,  # the stream is already shuffled, epoch by epoch
                    verbose=fit_args.get("verbose", self.verbose),
                )
                start += count * length
        conclude_training(self, snapshotter)  # warns, or raises if no cycle finished
        history = snapshotter.history

        if continuing and hasattr(self, "history_"):
            for key, values in history.items():
                self.history_[key].extend(values)
        else:
            self.history_ = history
        self.snapshots_ = previous + snapshotter.snapshots
        rates = schedule.rates
        self.learning_rates_ = (
            np.concatenate([self.learning_rates_, rates]) if continuing else rates
        )

    def _training_seed(self):
        if self._random_state is not None:
            return int(self._random_state)
        return int(np.random.default_rng().integers(2**31 - 1))

    # -- scikit-learn API ----------------------------------------------------------
    def fit(self, X, y, sample_weight=None, **kwargs):
        """scikeras' ``fit``; if it raises, the estimator is left as it was before."""
        with restored_on_failure(self):
            return super().fit(X, y, sample_weight=sample_weight, **kwargs)

    @available_if(_never)
    def partial_fit(self, X, y, **kwargs):
        """Not available: one ``fit`` trains a whole cosine schedule, not one epoch."""

    # scikeras prints every parameter on its own line; use scikit-learn's repr, which
    # shows only the parameters that differ from their defaults.
    __repr__ = BaseEstimator.__repr__

    def __sklearn_is_fitted__(self):
        return hasattr(self, "snapshots_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.target_tags.required = True
        return tags

    # -- prediction ---------------------------------------------------------------
    def _members(self):
        """The snapshots that predict: the last ``n_members`` of ``snapshots_``."""
        check_is_fitted(self)
        n_members = self.n_members
        if n_members is None:
            return self.snapshots_
        if not isinstance(n_members, Integral) or isinstance(n_members, bool) or n_members < 1:
            raise ValueError(f"n_members must be None or an int >= 1, got {n_members!r}.")
        if n_members > len(self.snapshots_):
            raise ValueError(
                f"n_members={n_members} but only {len(self.snapshots_)} snapshots were "
                f"taken (n_cycles={self.n_cycles}); use n_members=None for all of them."
            )
        return self.snapshots_[-n_members:]

    def _member_raw(self, X, members, reduce=None):
        """Raw network outputs of ``members`` on ``X`` (validated and encoded here)."""
        check_is_fitted(self)
        X, _ = self._validate_data(X, reset=False)
        X = self.feature_encoder_.transform(X)
        return member_outputs(self.model_, members, X, reduce=reduce)
