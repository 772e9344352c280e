"""Tables as a user holds them: DataFrames with categorical columns and NaN.

The input kind of the multilayer perceptrons. Categorical columns (pandas
``category``, string and object columns with ``categorical_features=
'from_dtype'``, HistGradientBoosting's rule; or the columns a user names)
are one-hot encoded here, before the tensors are made: the network sees the
numeric columns first, then one 0/1 column per category. A category not seen
in fit is all zeros, as ``OneHotEncoder(handle_unknown='ignore')`` gives; a
missing category gets a column of its own when fit saw one. Missing numeric
values (NaN) pass through to the network, whose input layer
(``_modules.TableScaler``) replaces them by the training median and adds a
missing-value indicator for each column that had NaN in fit.

A plain numeric array takes ``TableInput``'s path: no encoding, no copy.
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array, check_X_y
from sklearn.utils.validation import validate_data

from sklearn_deep._data import TableInput, _y_kwargs

# the most frequent categories of a column that get a one-hot column each;
# the rarer ones are encoded as unknown (all zeros), as OneHotEncoder's
# max_categories groups them
MAX_CATEGORIES = 100


def _is_frame(X):
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc")


def _categorical_dtype(dtype):
    import pandas as pd

    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def categorical_mask(est, X):
    """Which columns of X are categorical, as a bool array, for a fit.

    ``categorical_features`` as HistGradientBoosting's: None, 'from_dtype'
    (pandas category, string and object columns of a DataFrame), a bool mask,
    or column indices or names.
    """
    spec = est.categorical_features
    n_features = X.shape[1] if hasattr(X, "shape") and len(X.shape) == 2 else None
    if n_features is None:
        return None  # validate_data reports the shape
    if spec is None:
        return np.zeros(n_features, dtype=bool)
    if isinstance(spec, str):  # 'from_dtype'
        if not _is_frame(X):
            return np.zeros(n_features, dtype=bool)
        return np.array([_categorical_dtype(d) for d in X.dtypes], dtype=bool)
    spec = np.asarray(spec)
    name = type(est).__name__
    if spec.dtype.kind == "b":
        if spec.shape != (n_features,):
            raise ValueError(
                f"{name} got categorical_features as a mask of {spec.size} "
                f"values, but X has {n_features} features; pass one bool per "
                f"feature, or column indices or names."
            )
        return spec.copy()
    mask = np.zeros(n_features, dtype=bool)
    if spec.dtype.kind in "USO":
        if not _is_frame(X):
            raise ValueError(
                f"{name} got categorical_features as column names "
                f"({spec.tolist()!r}), but X has no column names; pass a "
                f"DataFrame, or column indices."
            )
        columns = [str(c) for c in X.columns]
        unknown = [c for c in spec.tolist() if c not in columns]
        if unknown:
            raise ValueError(
                f"{name} got categorical_features={spec.tolist()!r}, but X has "
                f"no column {unknown!r}; its columns are {columns!r}."
            )
        mask[[columns.index(c) for c in spec.tolist()]] = True
        return mask
    if spec.dtype.kind not in "iu" or np.any(spec < 0) or np.any(spec >= n_features):
        raise ValueError(
            f"{name} got categorical_features={spec.tolist()!r}: column indices "
            f"must be integers in [0, {n_features}); or pass a bool mask or "
            f"column names."
        )
    mask[spec] = True
    return mask


def _column(X, j):
    return X.iloc[:, j] if _is_frame(X) else np.asarray(X)[:, j]


def _missing(values):
    import pandas as pd

    return np.asarray(pd.isna(values), dtype=bool)


def fit_categories(X, mask):
    """Per categorical column: ``(categories, has_missing)``, JSON-friendly.

    The categories seen in fit, the most frequent ``MAX_CATEGORIES`` of them,
    in the column's declared order (pandas category) or sorted.
    """
    import pandas as pd

    encoding = []
    for j in np.flatnonzero(mask):
        values = _column(X, j)
        missing = _missing(values)
        present = pd.Series(np.asarray(values, dtype=object)[~missing])
        counts = present.value_counts(sort=True)
        keep = set(counts.index[:MAX_CATEGORIES].tolist())
        declared = getattr(getattr(values, "cat", None), "categories", None)
        if declared is not None:
            ordered = [c for c in declared.tolist() if c in keep]
        else:
            ordered = sorted(keep, key=lambda c: (type(c).__name__, c))
        encoding.append([[_plain(c) for c in ordered], bool(missing.any())])
    return encoding


def _plain(value):
    """A category as a plain Python value (numpy scalars are not JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def encode(X, mask, encoding):
    """The numeric columns of X (float32, NaN kept), then the one-hot columns."""
    import pandas as pd

    numeric = np.flatnonzero(~mask)
    n = X.shape[0]
    if _is_frame(X):
        parts = [
            X.iloc[:, numeric].to_numpy(dtype=np.float32, na_value=np.nan)
            if len(numeric)
            else np.empty((n, 0), np.float32)
        ]
    else:
        parts = [np.asarray(np.asarray(X)[:, numeric], dtype=np.float32)]
    width = sum(len(cats) + has_missing for cats, has_missing in encoding)
    onehot = np.zeros((n, width), dtype=np.float32)
    offset = 0
    rows = np.arange(n)
    for j, (cats, has_missing) in zip(np.flatnonzero(mask), encoding):
        values = _column(X, j)
        codes = pd.Categorical(np.asarray(values, dtype=object), categories=cats)
        codes = codes.codes.astype(np.int64)  # int8 for few categories
        seen = codes >= 0
        onehot[rows[seen], offset + codes[seen]] = 1.0
        offset += len(cats)
        if has_missing:
            onehot[_missing(values), offset] = 1.0
            offset += 1
    parts.append(onehot)
    return np.concatenate(parts, axis=1)


class FrameInput(TableInput):
    """2-D tables that may hold categorical columns and missing values."""

    x_doc = """\
X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
    The input samples. A DataFrame may hold categorical columns (see
    ``categorical_features``) and missing values (NaN)."""
    _validate_kwargs = {
        **TableInput._validate_kwargs,
        "ensure_all_finite": "allow-nan",
    }

    def check_params(self, est):
        spec = est.categorical_features
        if isinstance(spec, str) and spec != "from_dtype":
            raise ValueError(
                f"categorical_features must be None, 'from_dtype', a bool mask "
                f"or column indices or names; got {spec!r}."
            )
        if isinstance(spec, Integral | bool):
            raise ValueError(
                f"categorical_features takes a list of column indices, got "
                f"the single value {spec!r}; pass [{spec!r}]."
            )

    def _encoded(self, est, X, reset):
        """X with its categorical columns one-hot encoded, or None when it has
        none (fit: sets ``is_categorical_`` and the encoding)."""
        if reset:
            mask = categorical_mask(est, X)
            if mask is None or not mask.any() or sp.issparse(X):
                est.is_categorical_ = None if mask is None else mask * False
                est._categories = None
                return None
            validate_data(est, X, skip_check_array=True, reset=True)
            est.is_categorical_ = mask
            est._categories = fit_categories(X, mask)
        elif getattr(est, "_categories", None) is None:
            return None
        else:
            validate_data(est, X, skip_check_array=True, reset=False)
        return encode(X, est.is_categorical_, est._categories)

    def _after_fit_validation(self, est, X, reset):
        if reset:  # what the network's input layer needs to be built
            dense = not sp.issparse(X)
            n_numeric = int(X.shape[1] - self._onehot_width(est))
            est._n_scaled = n_numeric if dense else 0
            est._missing_columns = (
                np.flatnonzero(np.isnan(X[:, :n_numeric]).any(0)).tolist()
                if dense
                else []
            )

    @staticmethod
    def _onehot_width(est):
        if getattr(est, "_categories", None) is None:
            return 0
        return sum(len(cats) + has_missing for cats, has_missing in est._categories)

    def fitted_width(self, est):
        n_features = est.n_features_in_
        mask = getattr(est, "is_categorical_", None)
        categories = getattr(est, "_categories", None)
        n_scaled = getattr(est, "_n_scaled", None)
        missing = getattr(est, "_missing_columns", [])
        if mask is None:  # saved before categorical columns were read
            return n_features if categories is None and n_scaled is None else None
        if not (
            isinstance(mask, np.ndarray)
            and mask.dtype == bool
            and mask.shape == (n_features,)
            and isinstance(n_scaled, Integral)
            and isinstance(missing, list)
        ):
            return None
        n_numeric = int((~mask).sum())
        width = n_numeric
        if categories is not None:
            try:
                ok = len(categories) == int(mask.sum()) and all(
                    isinstance(cats, list)
                    and len(cats) <= MAX_CATEGORIES
                    and isinstance(has_missing, bool)
                    for cats, has_missing in categories
                )
            except (TypeError, ValueError):
                return None
            if not ok:
                return None
            width += self._onehot_width(est)
        elif mask.any():
            return None
        if n_scaled not in (0, n_numeric) or not all(
            isinstance(j, Integral) and 0 <= j < n_numeric for j in missing
        ):
            return None
        if len(set(missing)) != len(missing):
            return None
        return width

    def validate(self, est, X, *, reset):
        encoded = self._encoded(est, X, reset)
        if encoded is None:
            return super().validate(est, X, reset=reset)
        return check_array(encoded, **self._validate_kwargs)

    def validate_fit(self, est, X, y, *, reset):
        encoded = self._encoded(est, X, reset)
        if encoded is None:
            X, y = super().validate_fit(est, X, y, reset=reset)
        else:
            X, y = check_X_y(encoded, y, **_y_kwargs(est), **self._validate_kwargs)
        if sp.issparse(X) and X.nnz and np.isnan(X.data).any():
            raise ValueError(
                f"{type(est).__name__} got a sparse X with missing values (NaN); "
                f"missing values are handled in dense input only. Impute them "
                f"(SimpleImputer) or pass a dense array."
            )
        self._after_fit_validation(est, X, reset)
        return X, y

    def fast_inputs(self, est, X):
        if getattr(est, "_categories", None) is not None:
            return None
        return super().fast_inputs(est, X)

    def fast_layers(self, est, X, layers):
        if getattr(est, "_categories", None) is not None:
            return None
        if isinstance(X, np.ndarray) and X.dtype.kind == "f" and np.isinf(X).any():
            return None  # the input layer would impute it: validation refuses
        return super().fast_layers(est, X, layers)

    def update_tags(self, tags):
        tags = super().update_tags(tags)
        tags.input_tags.allow_nan = True
        return tags
