"""The classifier's default losses with label smoothing.

Keras smooths one-hot targets only (``CategoricalCrossentropy(label_smoothing=...)``),
while the default multi-class network trains on integer class indices (sparse
cross-entropy). :class:`SmoothedSparseCategoricalCrossentropy` smooths integer targets
the way Keras smooths one-hot ones; binary problems use Keras'
``BinaryCrossentropy(label_smoothing=...)`` (:func:`default_classification_loss`).
"""

import keras
from keras import ops

__all__ = ["SmoothedSparseCategoricalCrossentropy", "default_classification_loss"]


@keras.saving.register_keras_serializable(package="sksnapshot")
class SmoothedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Cross-entropy of integer class targets smoothed towards the uniform distribution.

    The target of a row of class ``c`` among ``K`` classes is ``1 - eps + eps / K`` for
    ``c`` and ``eps / K`` for every other class, as in Keras'
    ``CategoricalCrossentropy(label_smoothing=eps)`` of the one-hot target; the loss is
    the categorical cross-entropy of the predicted probabilities against it.

    Parameters
    ----------
    label_smoothing : float, default=0.0
        ``eps`` in ``[0, 1)``; 0 is the plain sparse categorical cross-entropy.
    name : str, default="smoothed_sparse_categorical_crossentropy"
    reduction : str, default="sum_over_batch_size"
    dtype : str or None, default=None
    """

    def __init__(
        self,
        label_smoothing=0.0,
        name="smoothed_sparse_categorical_crossentropy",
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        if len(y_true.shape) == len(y_pred.shape):  # (..., 1) class columns
            y_true = ops.squeeze(y_true, axis=-1)
        n_classes = y_pred.shape[-1]
        target = ops.one_hot(ops.cast(y_true, "int32"), n_classes, dtype=y_pred.dtype)
        target = target * (1.0 - self.label_smoothing) + self.label_smoothing / n_classes
        return keras.losses.categorical_crossentropy(target, y_pred)

    def get_config(self):
        return {
            "label_smoothing": self.label_smoothing,
            "name": self.name,
            "reduction": self.reduction,
        }


def default_classification_loss(binary, label_smoothing):
    """The default network's loss: binary or sparse categorical cross-entropy.

    Without smoothing, Keras' own loss by name (as before ``label_smoothing`` existed).
    """
    if label_smoothing == 0:
        return "binary_crossentropy" if binary else "sparse_categorical_crossentropy"
    if binary:
        return keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
    return SmoothedSparseCategoricalCrossentropy(label_smoothing=label_smoothing)
