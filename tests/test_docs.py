"""The documentation's offline intersphinx inventories (docs/conf.py): Sphinx
reads them, and each name resolves to its page on the project's site."""

import runpy
from pathlib import Path

import pytest

sphinx_inventory = pytest.importorskip("sphinx.util.inventory")

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def conf():
    return runpy.run_path(str(DOCS / "conf.py"))


def _inventory(conf, key):
    url, path = conf["intersphinx_mapping"][key]
    assert not path.startswith("http"), "intersphinx must not use the network"
    return sphinx_inventory.InventoryFile.loads(Path(path).read_bytes(), uri=url)


@pytest.mark.parametrize(
    "key, role, name, address",
    [
        (
            "sklearn",
            "py:class",
            "sklearn.linear_model.LogisticRegression",
            "https://scikit-learn.org/stable/modules/generated/"
            "sklearn.linear_model.LogisticRegression.html"
            "#sklearn.linear_model.LogisticRegression",
        ),
        (
            "sklearn",
            "py:function",
            "sklearn.model_selection.cross_val_score",
            "https://scikit-learn.org/stable/modules/generated/"
            "sklearn.model_selection.cross_val_score.html"
            "#sklearn.model_selection.cross_val_score",
        ),
        (
            "numpy",
            "py:class",
            "numpy.ndarray",
            "https://numpy.org/doc/stable/reference/generated/numpy.ndarray.html"
            "#numpy.ndarray",
        ),
        (
            "torch",
            "py:class",
            "torch.nn.Linear",
            "https://docs.pytorch.org/docs/stable/generated/torch.nn.Linear.html"
            "#torch.nn.Linear",
        ),
        (
            "torch",
            "py:class",
            "torch.autocast",
            "https://docs.pytorch.org/docs/stable/amp.html#torch.autocast",
        ),
        (
            "python",
            "py:class",
            "dict",
            "https://docs.python.org/3/library/stdtypes.html#dict",
        ),
    ],
)
def test_inventory_points_at_the_online_page(conf, key, role, name, address):
    inventory = _inventory(conf, key)
    assert (role, name) in inventory
    assert inventory[role, name].uri == address
    # negative control: a name the installed package lacks gets no entry
    assert (role, f"{name}DoesNotExist") not in inventory
