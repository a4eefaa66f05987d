"""Prod recipes: the validated ones, smoke-tested by the CI suite and tracked by the stable
suite (metta/recipes/validation/)."""
