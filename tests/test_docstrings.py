"""numpydoc validation of every public class and method docstring."""

import inspect

import pytest
from numpydoc.validate import validate

import sklearn_deep
from sklearn_deep import callbacks, plotting
from sklearn_deep.utils import all_estimators

# GL08: inherited scikit-learn methods (get_params, ...) are scikit-learn's
# docs; ES01/SA01/EX01 are optional sections for methods; RT02 asks for a name
# on Returns lines, which numpydoc's own guide makes optional.
IGNORED = {"GL08", "ES01", "SA01", "EX01", "RT02", "GL01", "GL02", "SS03", "PR02"}


def _public_objects():
    classes = [cls for _, cls in all_estimators()]
    classes += [
        callbacks.Callback,
        callbacks.TimeLimit,
        callbacks.LossHistory,
        plotting.LossCurveDisplay,
    ]
    for cls in classes:
        yield f"{cls.__module__}.{cls.__qualname__}"
        for name, member in inspect.getmembers(cls):
            if name.startswith("_") or not callable(member):
                continue
            owner = next(k for k in cls.__mro__ if name in vars(k))
            if owner.__module__.startswith("sklearn_deep"):
                yield f"{cls.__module__}.{cls.__qualname__}.{name}"


@pytest.mark.parametrize("name", sorted(set(_public_objects())))
def test_docstring(name):
    result = validate(name)
    errors = [(code, msg) for code, msg in result["errors"] if code not in IGNORED]
    assert not errors, f"{name}: {errors}"


def test_public_names_are_exported():
    for name in sklearn_deep.__all__:
        assert hasattr(sklearn_deep, name)
