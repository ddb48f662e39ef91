"""Clearer messages for data that scikit-learn's ``validate_data`` cannot convert.

scikit-learn checks the data first (NaN, inf, shapes, sparse input, feature counts) and its
messages are kept. One of them is only numpy's: non-numeric input (strings, objects) fails
with ``could not convert string to float: 'a'``, which does not say which argument or
column is at fault nor what to do. :func:`numeric_conversion_errors` re-raises it with
that information.
"""

from contextlib import contextmanager

import numpy as np

__all__ = ["check_label_types", "numeric_conversion_errors"]

# Messages of numpy / Python when a value cannot be turned into a float.
_CONVERSION_MESSAGES = (
    "could not convert",
    "invalid literal",
    "argument must be a string or a",
    "not compatible with arrays of bytes/strings",
    "unable to convert",
)


def _non_numeric(name, data):
    """What is not numeric in ``data`` (named ``name``), or None if it looks numeric."""
    if data is None:
        return None
    dtypes = getattr(data, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):  # a pandas DataFrame
        columns = [str(c) for c, dt in dtypes.items() if getattr(dt, "kind", "O") not in "biuf"]
        return f"the columns {columns} of {name} are not numeric" if columns else None
    dtype = getattr(data, "dtype", None)
    if dtype is None:
        try:
            dtype = np.asarray(data, dtype=object).dtype
        except (ValueError, TypeError):  # ragged input: keep the original error
            return None
    if getattr(dtype, "kind", "O") in "OUS":
        return f"{name} has dtype {dtype}"
    return None


@contextmanager
def numeric_conversion_errors(estimator, X, y=None, y_numeric=False):
    """Re-raise a failed float conversion of ``X`` (or of a numeric ``y``) clearly.

    The error keeps its type (``ValueError`` for a string, ``TypeError`` for an object
    such as a dict) and numpy's text; any other error passes through unchanged.
    """
    try:
        yield
    except (ValueError, TypeError) as exc:
        text = str(exc).lower()
        if not any(m in text for m in _CONVERSION_MESSAGES):
            raise
        for name, data in (("X", X), ("y", y if y_numeric else None)):
            problem = _non_numeric(name, data)
            if problem is not None:
                hint = (
                    "Encode the non-numeric features first, e.g. with "
                    "sklearn.preprocessing.OneHotEncoder or OrdinalEncoder (in a "
                    "sklearn.compose.ColumnTransformer inside a Pipeline)."
                    if name == "X"
                    else "Convert the targets to numbers."
                )
                # Same type as numpy's error (scikit-learn's checks expect a TypeError for
                # a dict in X, a ValueError for a string).
                error = TypeError if isinstance(exc, TypeError) else ValueError
                raise error(
                    f"{type(estimator).__name__} needs numeric {name}, but {problem} "
                    f"({exc}). {hint}"
                ) from exc
        raise


def check_label_types(estimator, y):
    """Refuse class labels that mix strings and numbers, which cannot be sorted.

    numpy would fail deep inside ``np.unique`` with ``'<' not supported between
    instances of 'int' and 'str'``.
    """
    dtype = getattr(y, "dtype", None)
    if dtype is not None and getattr(dtype, "kind", "O") != "O":
        return
    try:
        values = np.asarray(y, dtype=object).ravel()
    except (ValueError, TypeError):  # ragged: scikit-learn's checks will say so
        return
    strings = [v for v in values if isinstance(v, str)]
    others = [v for v in values if not isinstance(v, str)]
    if strings and others:
        raise ValueError(
            f"{type(estimator).__name__} needs class labels of one kind, but y mixes "
            f"strings and other values (e.g. {strings[0]!r} and {others[0]!r}). Convert "
            "them, e.g. with y.astype(str)."
        )
