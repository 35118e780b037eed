"""Fit the temperature of a model on a validation split (``fer-ros calibrate``)."""
from __future__ import annotations

import numpy as np

from fer_ros.core.calibration import apply_temperature

# log-spaced candidates, then a finer pass around the best: NLL in T is smooth and unimodal
_COARSE = np.exp(np.linspace(np.log(0.25), np.log(8.0), 61))


def negative_log_likelihood(probs: np.ndarray, true_idx: np.ndarray, temperature: float) -> float:
    scaled = apply_temperature(np.asarray(probs, np.float64), temperature)
    picked = scaled[np.arange(len(true_idx)), true_idx]
    return float(-np.log(np.clip(picked, 1e-12, 1.0)).mean())


def fit_temperature(probs: np.ndarray, true_idx: np.ndarray) -> float:
    """The T > 0 that minimises the NLL of ``true_idx`` (argmax, so accuracy, is unchanged)."""
    if len(true_idx) == 0:
        raise ValueError("cannot fit a temperature on an empty split")
    best = min(_COARSE, key=lambda t: negative_log_likelihood(probs, true_idx, t))
    fine = best * np.exp(np.linspace(-0.06, 0.06, 25))
    return float(min(fine, key=lambda t: negative_log_likelihood(probs, true_idx, t)))
