"""The Gaussian process both of Protein's models use (one for score, one for log-cost).

scikit-learn's GaussianProcessRegressor is used as is: exact inference on at most a few hundred
runs is milliseconds on a CPU, and its kernel hyperparameters are fitted by maximum likelihood
with seeded restarts, so a suggestion is reproducible. docs/sweeps.md says why not GPyTorch.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

# In [-1, 1] coordinates: below 0.05 a length scale would let the model wiggle between two runs
# a hair apart; above 20 the parameter no longer matters, which the upper bound already says.
LENGTH_SCALE_BOUNDS = (0.05, 20.0)
# Noise as a fraction of the (normalized) target's variance: from nearly exact to mostly noise,
# since RL scores can be either.
NOISE_BOUNDS = (1e-6, 1.0)


def _sklearn():
    try:
        from sklearn import gaussian_process
        from sklearn.exceptions import ConvergenceWarning
    except ImportError:
        raise ImportError("sweeps need scikit-learn: pip install 'metta[sweep]' (or scikit-learn)") from None
    return gaussian_process, ConvergenceWarning


@dataclass
class FittedGP:
    """A fitted model; `predict` gives the mean and standard deviation at coordinates `x`."""

    model: object

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self.model.predict(np.atleast_2d(x), return_std=True)
        return mean, np.maximum(std, 1e-9)


def fit_gp(x: np.ndarray, y: np.ndarray, random_state: int, restarts: int = 2) -> FittedGP:
    """Fit a Matern-5/2 GP with one length scale per parameter and learned noise.

    Matern-5/2 assumes a twice-differentiable response, the usual choice for hyperparameters
    (rougher than the squared exponential's infinitely smooth one). Targets are normalized by the
    regressor, so the kernel's bounds do not depend on the metric's units.
    """
    gaussian_process, convergence_warning = _sklearn()
    kernels = gaussian_process.kernels
    dim = x.shape[1]
    matern = kernels.Matern(length_scale=np.full(dim, 0.5), length_scale_bounds=LENGTH_SCALE_BOUNDS, nu=2.5)
    kernel = kernels.ConstantKernel(1.0, (1e-2, 1e2)) * matern + kernels.WhiteKernel(1e-3, NOISE_BOUNDS)
    model = gaussian_process.GaussianProcessRegressor(
        kernel=kernel, normalize_y=True, n_restarts_optimizer=restarts, random_state=random_state
    )
    with warnings.catch_warnings():
        # A hyperparameter at its bound is an expected outcome (an irrelevant parameter, a
        # noiseless metric), not something a sweep's log should repeat every suggestion.
        warnings.simplefilter("ignore", convergence_warning)
        model.fit(x, y)
    return FittedGP(model)
