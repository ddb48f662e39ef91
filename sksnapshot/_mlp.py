"""The default network: a multi-layer perceptron named as in scikit-learn's MLP."""

import keras

__all__ = ["build_mlp", "keras_activation"]

# scikit-learn's MLP names for the activations Keras spells differently.
_SKLEARN_ACTIVATIONS = {"logistic": "sigmoid", "identity": "linear"}


def keras_activation(activation):
    """Keras activation for an MLPClassifier-style name (``"logistic"`` -> ``"sigmoid"``)."""
    if isinstance(activation, str):
        activation = _SKLEARN_ACTIVATIONS.get(activation, activation)
    try:
        return keras.activations.get(activation)
    except ValueError as exc:
        raise ValueError(
            f"activation={activation!r} is not an activation Keras knows "
            "(e.g. 'relu', 'tanh', 'logistic', 'identity', 'gelu', or a callable)."
        ) from exc


def build_mlp(n_features, hidden_layer_sizes, activation, n_outputs, output_activation):
    """An uncompiled fully connected network.

    Parameters
    ----------
    n_features : int
        Width of the input rows.
    hidden_layer_sizes : sequence of int
        Units of every hidden layer, input side first.
    activation : str or callable
        Activation of the hidden layers (scikit-learn or Keras names).
    n_outputs : int
        Units of the output layer.
    output_activation : str
        Activation of the output layer (``"sigmoid"``, ``"softmax"`` or ``"linear"``).

    Returns
    -------
    model : keras.Model
    """
    hidden_activation = keras_activation(activation)
    inputs = keras.Input(shape=(n_features,))
    x = inputs
    for index, units in enumerate(hidden_layer_sizes):
        x = keras.layers.Dense(int(units), activation=hidden_activation, name=f"hidden_{index}")(x)
    outputs = keras.layers.Dense(n_outputs, activation=output_activation, name="output")(x)
    return keras.Model(inputs, outputs, name="snapshot_mlp")
