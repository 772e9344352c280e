"""numpydoc validation of every public class and method docstring, and the
documented defaults against the signatures."""

import ast
import importlib
import inspect

import pytest
from numpydoc.docscrape import NumpyDocString
from numpydoc.validate import validate

import sklearn_deep
from sklearn_deep import MLPRegressor, callbacks, plotting
from sklearn_deep.utils import all_estimators
from sklearn_deep.utils._docstring import Param, fill_doc

# GL08: inherited scikit-learn methods (get_params, ...) are scikit-learn's
# docs; ES01/SA01/EX01 are optional sections for methods; RT02 asks for a name
# on Returns lines, which numpydoc's own guide makes optional.
IGNORED = {"GL08", "ES01", "SA01", "EX01", "RT02", "GL01", "GL02", "SS03"}


def _public_objects():
    classes = [cls for _, cls in all_estimators()]
    classes += [
        callbacks.Callback,
        callbacks.TimeLimit,
        callbacks.LossHistory,
        callbacks.ProgressBar,
        plotting.LossCurveDisplay,
        plotting.TrainingCurveDisplay,
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


def _documented_defaults(cls):
    """``{name: default text}`` of the class docstring's Parameters section."""
    found = {}
    for param in NumpyDocString(cls.__doc__)["Parameters"]:
        _, marker, default = param.type.rpartition("default=")
        assert marker, f"{cls.__name__}.{param.name} states no default"
        found[param.name] = default
    return found


@pytest.mark.parametrize("cls", [c for _, c in all_estimators()], ids=repr)
def test_documented_defaults_are_the_signatures(cls):
    signature = inspect.signature(cls).parameters
    documented = _documented_defaults(cls)
    assert list(documented) == list(signature)
    for name, text in documented.items():
        value = None if text == "None" else ast.literal_eval(text)
        assert value == signature[name].default, (name, text)
        assert type(value) is type(signature[name].default), (name, text)


def test_a_changed_default_changes_the_docs():
    # negative control: the docs follow the signature, not a copy of it
    @fill_doc({"hidden_layer_sizes": Param("array-like", "Layer widths.")})
    class Estimator(MLPRegressor):
        """An MLP with another default.

        Parameters
        ----------
        {{parameters}}
        """

        def __init__(self, hidden_layer_sizes=(7,), *, alpha=0.5, verbose=True):
            pass

    documented = _documented_defaults(Estimator)
    assert documented == {
        "hidden_layer_sizes": "(7,)",
        "alpha": "0.5",
        "verbose": "True",
    }


def test_an_undocumented_parameter_is_an_error_at_import():
    with pytest.raises(TypeError, match=r"undocumented parameters \['colour'\]"):

        @fill_doc()
        class Estimator(MLPRegressor):
            """{{parameters}}"""

            def __init__(self, colour="red"):
                pass


def test_no_family_module_imports_another():
    families = {"linear_model", "neural_network", "cnn", "recurrent"}
    for family in families:
        tree = ast.parse(
            inspect.getsource(importlib.import_module(f"sklearn_deep.{family}"))
        )
        imported = {
            node.module.rsplit(".", 1)[-1]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert not imported & (families - {family}), family
