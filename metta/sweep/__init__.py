"""Hyperparameter sweeps: the search space and the Protein optimizer (docs/sweeps.md).

scikit-learn (the `sweep` extra) is imported only when Protein first fits a model.
"""

from metta.sweep.distributions import DISTRIBUTIONS, SearchSpace, parse_parameter
from metta.sweep.protein import Observation, Protein, ProteinSettings, parse_settings

__all__ = [
    "DISTRIBUTIONS",
    "Observation",
    "Protein",
    "ProteinSettings",
    "SearchSpace",
    "parse_parameter",
    "parse_settings",
]
