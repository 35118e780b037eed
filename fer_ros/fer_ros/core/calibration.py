"""Confidence calibration: temperature scaling (Guo et al. 2017) and its measure, the ECE.

A bundle may carry ``output.temperature`` T, fitted on the validation split by
``fer-ros calibrate``. The runtime divides the logits by T before the softmax. Bundles whose
graph already ends in a softmax give probabilities p; since log p = logits - logsumexp(logits),
softmax(log p / T) equals softmax(logits / T), so T applies to either form.
"""
from __future__ import annotations

import numpy as np

ECE_BINS = 15  # the common choice (Guo et al. 2017), so figures compare with the literature


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """(N, K) probabilities -> the same model's probabilities at temperature T."""
    if temperature == 1.0:
        return probs
    logits = np.log(np.clip(probs, 1e-12, 1.0)) / float(temperature)
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=1, keepdims=True)).astype(probs.dtype, copy=False)


def adjust_for_prior(probs: np.ndarray, class_prior, tau: float) -> np.ndarray:
    """Post-hoc logit adjustment (Menon et al. 2021): ``log p - tau * log prior``, renormalised.

    ``class_prior`` is each class's share of the training labels (``output.class_prior`` of the
    bundle). tau 0 leaves ``probs`` as they are; larger tau trades accuracy on the common
    classes (neutral, happy) for recall of the rare ones (disgust, fear, contempt)."""
    if tau == 0.0:
        return probs
    log_p = np.log(np.clip(probs, 1e-12, 1.0)) - float(tau) * np.log(np.asarray(class_prior))
    log_p -= log_p.max(axis=1, keepdims=True)
    adjusted = np.exp(log_p)
    return (adjusted / adjusted.sum(axis=1, keepdims=True)).astype(probs.dtype, copy=False)


def expected_calibration_error(probs: np.ndarray, true_idx: np.ndarray,
                               bins: int = ECE_BINS) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    probs = np.asarray(probs, np.float64)
    true_idx = np.asarray(true_idx)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == true_idx
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            ece += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(ece)
