"""Tests of the plain torch modules, without scikit-learn."""
