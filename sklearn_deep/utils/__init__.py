"""Utilities for sklearn_deep (discovery of the public estimators)."""

from sklearn_deep.utils.discovery import all_estimators

__all__ = ["all_estimators"]
