"""Discovery of the public estimators, in the spirit of ``sklearn.utils``."""

import inspect

from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    TransformerMixin,
)


def all_estimators(type_filter=None):
    """List every public estimator of sklearn_deep.

    Parameters
    ----------
    type_filter : {'classifier', 'regressor', 'transformer'} or None, \
default=None
        Keep only classifiers, only regressors or only transformers
        (``fit``/``transform``, as the AutoEncoder); None keeps all.

    Returns
    -------
    estimators : list of tuple
        ``(name, class)`` pairs sorted by name.

    Examples
    --------
    >>> from sklearn_deep.utils import all_estimators
    >>> names = [name for name, _ in all_estimators("regressor")]
    >>> "MLPRegressor" in names and "MLPClassifier" not in names
    True
    """
    import sklearn_deep

    mixins = {
        "classifier": ClassifierMixin,
        "regressor": RegressorMixin,
        "transformer": TransformerMixin,
    }
    if type_filter is not None and type_filter not in mixins:
        raise ValueError(
            f"type_filter must be 'classifier', 'regressor', 'transformer' or "
            f"None, got {type_filter!r}."
        )
    found = []
    for name in sklearn_deep.__all__:
        obj = getattr(sklearn_deep, name)
        if not (inspect.isclass(obj) and issubclass(obj, BaseEstimator)):
            continue
        if type_filter is None or issubclass(obj, mixins[type_filter]):
            found.append((name, obj))
    return sorted(found)
