"""Temperature scaling and ECE: the fit recovers a known temperature; ECE measures miscalibration."""
import numpy as np

from fer_ros.core.calibration import apply_temperature, expected_calibration_error
from fer_ros.training.calibrate import fit_temperature


def _overconfident_sample(n=4000, k=7, true_t=2.0, seed=0):
    """Labels drawn from softmax(z); the model reports softmax(z * true_t): overconfident."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (n, k))
    calibrated = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    truth = np.array([rng.choice(k, p=p) for p in calibrated])
    reported = apply_temperature(calibrated, 1.0 / true_t)
    return reported, truth


def test_fit_recovers_the_temperature_and_lowers_ece():
    reported, truth = _overconfident_sample()
    t = fit_temperature(reported, truth)
    assert 1.8 < t < 2.2, f"fitted T={t:.3f}, expected about 2.0 for a model sharpened 2x"
    before = expected_calibration_error(reported, truth)
    after = expected_calibration_error(apply_temperature(reported, t), truth)
    assert after < before / 2, f"ECE should fall by half or more: {before:.4f} -> {after:.4f}"


def test_temperature_keeps_argmax_and_sums_to_one():
    reported, _ = _overconfident_sample(n=200)
    scaled = apply_temperature(reported, 1.7)
    assert np.array_equal(scaled.argmax(1), reported.argmax(1)), "temperature changed a prediction"
    np.testing.assert_allclose(scaled.sum(1), 1.0, atol=1e-6)
    assert apply_temperature(reported, 1.0) is reported, "T=1 must be a no-op"


def test_ece_of_perfectly_calibrated_certain_predictions_is_zero():
    probs = np.eye(5)[[0, 1, 2, 3, 4, 0]]
    assert expected_calibration_error(probs, np.array([0, 1, 2, 3, 4, 0])) == 0.0
    assert expected_calibration_error(probs, np.array([1, 2, 3, 4, 0, 1])) == 1.0


def test_pipeline_applies_the_bundle_temperature_and_flip_tta(default_bundle, shared_dir):
    """On real faces: T from model.json changes confidences, not labels; tta=flip averages the
    face and its mirror image."""
    import dataclasses

    import faces
    from fer_ros.core.config import PipelineConfig
    from fer_ros.core.pipeline import Pipeline
    from fer_ros.core.preprocess import preprocess_faces
    from fer_ros.core.types import Box

    images, _ = faces.fer2013_faces("PublicTest", limit=4)
    frame = np.concatenate([np.pad(im, 8) for im in images], axis=1)
    boxes = [Box(8 + i * 64, 8, 48, 48) for i in range(4)]
    config = {"classifier": {"threads": 1}}
    raw = dataclasses.replace(default_bundle, temperature=1.0)  # the shipped T aside
    plain = Pipeline(PipelineConfig.from_dict(config), raw)
    warm = Pipeline(PipelineConfig.from_dict(config),
                    dataclasses.replace(default_bundle, temperature=2.0))
    shipped = Pipeline(PipelineConfig.from_dict(config), default_bundle)
    np.testing.assert_allclose(shipped.classify_boxes(frame, boxes),
                               apply_temperature(plain.classify_boxes(frame, boxes),
                                                 default_bundle.temperature), atol=1e-5,
                               err_msg="the bundle's own output.temperature is not applied")
    p1, p2 = plain.classify_boxes(frame, boxes), warm.classify_boxes(frame, boxes)
    assert np.array_equal(p1.argmax(1), p2.argmax(1)), "temperature changed a label"
    assert (p2.max(1) < p1.max(1)).all(), "T=2 must lower every confidence"
    np.testing.assert_allclose(p2, apply_temperature(p1, 2.0), atol=1e-5)

    flip = Pipeline(PipelineConfig.from_dict({"classifier": {"threads": 1, "tta": "flip"}}), raw)
    batch = preprocess_faces(frame, [b.as_tuple() for b in boxes], default_bundle.input_spec)
    mirrored = plain.backend.infer(np.ascontiguousarray(batch[..., ::-1]))
    np.testing.assert_allclose(flip.classify_boxes(frame, boxes), (p1 + mirrored) / 2,
                               atol=1e-5, err_msg="tta=flip is not the mean of face and mirror")


def test_logit_adjustment_favours_rare_classes_and_needs_a_prior(default_bundle, shared_dir):
    """On real faces through the pipeline: tau scales probabilities by prior^-tau (a rare
    class gains against a common one); a bundle without output.class_prior is refused."""
    import dataclasses

    import faces
    import pytest
    from fer_ros.core.calibration import adjust_for_prior
    from fer_ros.core.config import PipelineConfig
    from fer_ros.core.errors import ConfigError
    from fer_ros.core.pipeline import Pipeline
    from fer_ros.core.types import Box

    images, _ = faces.fer2013_faces("PublicTest", limit=8)
    frame = np.concatenate([np.pad(im, 8) for im in images], axis=1)
    boxes = [Box(8 + i * 64, 8, 48, 48) for i in range(8)]
    k = len(default_bundle.labels)
    prior = tuple(np.linspace(1, 20, k) / np.linspace(1, 20, k).sum())  # class 0 the rarest
    bundle = dataclasses.replace(default_bundle, class_prior=prior)
    plain = Pipeline(PipelineConfig.from_dict({"classifier": {"threads": 1}}), bundle)
    tuned = Pipeline(PipelineConfig.from_dict(
        {"classifier": {"threads": 1, "logit_adjustment": 0.5}}), bundle)
    p0, p1 = plain.classify_boxes(frame, boxes), tuned.classify_boxes(frame, boxes)
    np.testing.assert_allclose(p1, adjust_for_prior(p0, prior, 0.5), atol=1e-5,
                               err_msg="logit_adjustment is not p * prior^-tau, renormalised")
    np.testing.assert_allclose(p1.sum(1), 1.0, atol=1e-5)
    assert (p1[:, 0] / p1[:, -1] > p0[:, 0] / p0[:, -1]).all(), \
        "the rarest class must gain against the most common one"
    with pytest.raises(ConfigError, match="class prior"):
        Pipeline(PipelineConfig.from_dict({"classifier": {"logit_adjustment": 0.3}}),
                 dataclasses.replace(default_bundle, class_prior=None))
