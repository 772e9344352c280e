"""Sphinx configuration (numpydoc, autosummary, sphinx-gallery, intersphinx).

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
Setting ``SKLEARN_DEEP_DOCS_GALLERY=0`` skips running the examples (a quick
build of the pages alone); CI runs them all.

Intersphinx without a network
-----------------------------
The build never downloads anything: CI and the development machines have no
internet. Instead of fetching ``objects.inv`` from scikit-learn's, numpy's,
torch's and Python's sites, this file writes small inventories at build time
(into ``docs/_build/intersphinx/``) from the packages installed here: every
public class and function of the installed scikit-learn's modules, of numpy's
and torch's main namespaces, and Python's built-in types and functions, each
with the real online address of its page (the address patterns of those sites
for the installed versions). A link therefore always points at the online
documentation, and an object the installed version lacks gets no link rather
than a dead one. Unresolved references stay plain text (``nitpicky`` is off),
so a missing entry is never a build error.
"""

import inspect
import os
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checkout's sklearn_deep, not another

import sklearn_deep  # noqa: E402

project = "sklearn_deep"
author = "the sklearn_deep developers"
copyright = "the sklearn_deep developers, BSD-3-Clause"
release = version = sklearn_deep.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",  # the Markdown pages (performance, accuracy, benchmarks)
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
templates_path = ["_templates"]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_deep {version}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"install": [], "migrating_*": []}
toc_object_entries_show_parents = "hide"  # "fit()", not "MLPClassifier.fit()"
html_static_path = []

# ---------------------------------------------------------------------------
# Offline intersphinx: inventories written from the installed packages


def _write_inventory(path, project_name, project_version, entries):
    """Write a Sphinx version-2 ``objects.inv``: ``entries`` are
    ``(name, domain:role, uri)`` or ``(name, domain:role, uri, title)``;
    ``$`` in a uri stands for the name (written out: Sphinx itself expands a
    ``$`` only at the end of a uri)."""
    lines = []
    for name, role, uri, *title in sorted(set(entries)):
        uri = uri.replace("$", name)
        lines.append(f"{name} {role} 1 {uri} {title[0] if title else '-'}")
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project_name}\n"
        f"# Version: {project_version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = zlib.compress(("\n".join(lines) + "\n").encode())
    path.write_bytes(header.encode() + body)


def _public(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    for name in names:
        try:
            obj = getattr(module, name, None)
        except ImportError:  # scikit-learn's experimental names
            obj = None
        if inspect.isclass(obj):
            yield name, "py:class"
        elif callable(obj):
            yield name, "py:function"


def _sklearn_entries():
    import importlib

    import sklearn

    # the labels and glossary terms that the docstrings we inherit from
    # scikit-learn (score, get_metadata_routing, set_*_request, set_output)
    # refer to
    entries = [
        ("sklearn", "py:module", "api/index.html"),
        (
            "metadata_routing",
            "std:label",
            "metadata_routing.html#metadata-routing",
            "Metadata Routing",
        ),
        (
            "accuracy_score",
            "std:label",
            "modules/model_evaluation.html#accuracy-score",
            "Accuracy score",
        ),
        (
            "r2_score",
            "std:label",
            "modules/model_evaluation.html#r2-score",
            "R² score, the coefficient of determination",
        ),
        (
            "df_output_transform",
            "std:label",
            "auto_examples/miscellaneous/plot_set_output.html",
            "Introducing the set_output API",
        ),
        (
            "sphx_glr_auto_examples_miscellaneous_plot_set_output.py",
            "std:label",
            "auto_examples/miscellaneous/plot_set_output.html",
            "Introducing the set_output API",
        ),
        ("meta-estimator", "std:term", "glossary.html#term-meta-estimator"),
        ("meta-estimators", "std:term", "glossary.html#term-meta-estimators"),
    ]
    for sub in sklearn.__all__:
        if sub.startswith("_") or sub in ("clone", "config_context"):
            continue
        full = f"sklearn.{sub}"
        try:
            module = importlib.import_module(full)
        except ImportError:
            continue
        if not inspect.ismodule(module):
            continue
        entries.append((full, "py:module", f"api/{full}.html"))
        for name, role in _public(module):
            entries.append(
                (f"{full}.{name}", role, "modules/generated/$.html#$"),
            )
    for name, role in _public(sklearn):
        if not inspect.ismodule(getattr(sklearn, name)):
            entries.append((f"sklearn.{name}", role, "modules/generated/$.html#$"))
    return sklearn.__version__, entries


def _numpy_entries():
    import numpy

    entries = [("numpy", "py:module", "reference/index.html#module-numpy")]
    for name, role in _public(numpy):
        entries.append((f"numpy.{name}", role, "reference/generated/$.html#$"))
    return numpy.__version__, entries


def _torch_entries():
    import torch

    # torch's own pages for a few names that are not under generated/
    special = {
        "torch.Tensor": ("py:class", "tensors.html#$"),
        "torch.device": ("py:class", "tensor_attributes.html#$"),
        "torch.dtype": ("py:class", "tensor_attributes.html#$"),
        "torch.Generator": ("py:class", "generated/$.html#$"),
        "torch.autocast": ("py:class", "amp.html#$"),
        "torch.nn.Module": ("py:class", "generated/$.html#$"),
    }
    entries = [(name, role, uri) for name, (role, uri) in special.items()]
    entries.append(("torch", "py:module", "torch.html#module-torch"))
    for prefix, module in (
        ("torch", torch),
        ("torch.nn", torch.nn),
        ("torch.optim", torch.optim),
    ):
        for name, role in _public(module):
            full = f"{prefix}.{name}"
            if full not in special and not name.startswith("_"):
                entries.append((full, role, "generated/$.html#$"))
    return torch.__version__.split("+")[0], entries


def _python_entries():
    import builtins

    types = ("int", "float", "str", "bool", "list", "tuple", "dict", "set", "bytes")
    entries = [(name, "py:class", "library/stdtypes.html#$") for name in types]
    entries += [("None", "py:data", "library/constants.html#$")]
    entries += [
        (name, "py:function", "library/functions.html#$")
        for name in dir(builtins)
        if not name.startswith("_")
        and callable(getattr(builtins, name))
        and not inspect.isclass(getattr(builtins, name))
    ]
    entries += [
        (name, "py:exception", "library/exceptions.html#$")
        for name in ("ValueError", "TypeError", "AttributeError", "RuntimeError")
    ]
    entries += [
        ("pickle", "py:module", "library/pickle.html#module-pickle"),
        ("warnings", "py:module", "library/warnings.html#module-warnings"),
    ]
    return ".".join(map(str, sys.version_info[:2])), entries


_INVENTORIES = {
    "sklearn": ("scikit-learn", "https://scikit-learn.org/stable/", _sklearn_entries),
    "numpy": ("NumPy", "https://numpy.org/doc/stable/", _numpy_entries),
    "torch": ("PyTorch", "https://docs.pytorch.org/docs/stable/", _torch_entries),
    "python": ("Python", "https://docs.python.org/3/", _python_entries),
}

_inventory_dir = HERE / "_build" / "intersphinx"
_inventory_dir.mkdir(parents=True, exist_ok=True)
intersphinx_mapping = {}
for _key, (_name, _url, _entries) in _INVENTORIES.items():
    _version, _found = _entries()
    _path = _inventory_dir / f"{_key}.inv"
    _write_inventory(_path, _name, _version, _found)
    intersphinx_mapping[_key] = (_url, str(_path))
intersphinx_timeout = 1  # never wait on a network: the inventories are local

# ---------------------------------------------------------------------------
# The gallery: every examples/plot_*.py runs at each build

_run_gallery = os.environ.get("SKLEARN_DEEP_DOCS_GALLERY", "1") != "0"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "plot_gallery": "True" if _run_gallery else "False",
    "download_all_examples": False,
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "remove_config_comments": True,
}
