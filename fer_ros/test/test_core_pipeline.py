"""The whole pipeline on frames composed from real faces: detection, classification agreement
with the dataset labels (trained default bundle), tracking, limits and bad input."""
import numpy as np
import pytest

from fer_ros.core.config import PipelineConfig
from fer_ros.core.errors import ConfigError, InputError, ModelError
from fer_ros.core.pipeline import Pipeline

import faces

STAGES = {"detect", "preprocess", "classify", "track", "total"}


@pytest.fixture(scope="module")
def default_pipeline(default_bundle):
    bundle = default_bundle
    return Pipeline(PipelineConfig.from_dict({"classifier": {"threads": 2},
                                              "tracker": {"enabled": False}}), bundle)


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory):
    """A 6-class random-weight bundle: proves a different model runs with no code change.
    It tracks, but most tests here feed it unrelated frames: the whole frame is searched
    every time (test_core_detect_schedule.py covers following faces on a stream)."""
    pytest.importorskip("torch", reason="building a test bundle needs torch")
    from core_helpers import make_test_bundle
    path = make_test_bundle(tmp_path_factory.mktemp("p") / "six",
                            ["a", "b", "c", "d", "e", "f"], size=40)
    return Pipeline(PipelineConfig.from_dict({"classifier": {"bundle": str(path)},
                                              "detector": {"full_detection_interval": 1}}))


@pytest.fixture(scope="module")
def public_test_scenes(shared_dir):
    images, labels = faces.fer2013_faces("PublicTest", limit=300)
    return [faces.compose_frame(images[i:i + 3], [int(x) for x in labels[i:i + 3]],
                                face_px=(110, 170), seed=i) for i in range(0, 300, 3)]


def test_classifier_agrees_with_the_labels_well_above_chance(default_pipeline,
                                                             public_test_scenes):
    """FER2013 PublicTest faces (never trained on) in composed frames, end to end."""
    pipeline = default_pipeline
    found = correct = placed = 0
    for scene in public_test_scenes:
        result = pipeline.process(scene.image)
        assert set(result.timings_ms) >= STAGES
        matches = faces.match_boxes(scene.boxes, [f.box for f in result.faces])
        for truth, match in zip(scene.labels, matches):
            placed += 1
            if match is not None:
                found += 1
                label = result.faces[match].label
                correct += label == faces.FER2013_LABELS[truth]
    chance = 1 / len(pipeline.labels)
    accuracy = correct / found
    assert found / placed >= 0.85, f"detected only {found}/{placed} placed faces"
    assert accuracy >= 2 * chance, (
        f"accuracy {accuracy:.1%} on {found} detected PublicTest faces is not well above "
        f"chance ({chance:.1%}); model {pipeline.model_name} {pipeline.model_version}")
    # detector crops frame faces a little differently from the dataset crops; measured
    # 0.77x of the direct accuracy with crop_margin 0.15, 0.96x with 0.0 (docs/core.md)
    recorded = pipeline.bundle.metadata.get("metrics", {}).get("fer2013_publictest_accuracy")
    if recorded:
        assert accuracy >= 0.6 * recorded, (
            f"end-to-end accuracy {accuracy:.1%} is far below the bundle's recorded "
            f"PublicTest accuracy {recorded:.1%}: the runtime crops differ from training's")


def test_results_are_well_formed(default_pipeline, public_test_scenes):
    result = default_pipeline.process(public_test_scenes[0].image)
    assert result.labels == default_pipeline.labels
    for face in result.faces:
        assert face.scores.shape == (len(result.labels),) and face.scores.dtype == np.float32
        assert face.label == result.labels[int(np.argmax(face.scores))]
        assert face.confidence == pytest.approx(float(face.scores.max()))
        assert abs(float(face.scores.sum()) - 1) < 1e-4 and 0 < face.detector_score <= 1


def test_a_different_bundle_runs_with_no_code_change(tiny_pipeline, public_test_scenes):
    result = tiny_pipeline.process(public_test_scenes[0].image)
    assert result.labels == ("a", "b", "c", "d", "e", "f")
    assert result.faces and all(f.scores.shape == (6,) for f in result.faces)


def test_track_ids_are_stable_while_faces_move(tiny_pipeline, public_test_scenes):
    tiny_pipeline.reset_tracks()
    scene = public_test_scenes[1]
    first = None
    for step in range(5):
        moved = np.roll(scene.image, 4 * step, axis=1)  # faces drift right 4 px per frame
        result = tiny_pipeline.process(moved)
        ids = sorted(f.track_id for f in result.faces)
        first = first or ids
        assert ids == first, f"frame {step}: ids {ids} != {first}"
    assert first and all(i >= 0 for i in first)


def test_more_faces_than_the_cap_are_counted_not_classified(tiny_pipeline, shared_dir):
    images, labels = faces.fer2013_faces("Training", limit=12)
    scene = faces.compose_frame(images[:10], labels[:10], frame_size=(1280, 720),
                                face_px=(130, 160), seed=5)
    tiny_pipeline.update_thresholds(max_faces=4)
    try:
        result = tiny_pipeline.process(scene.image)
    finally:
        tiny_pipeline.update_thresholds(max_faces=10)
    assert len(result.faces) == 4 and result.dropped_faces >= 3


def test_zero_faces_is_an_empty_result(tiny_pipeline):
    frame = faces.textured_background(640, 480, np.random.default_rng(0))
    result = tiny_pipeline.process(frame)
    assert result.faces == [] and result.dropped_faces == 0
    assert set(result.timings_ms) >= STAGES


def test_encoded_frames_gray_and_16_bit(tiny_pipeline, public_test_scenes):
    bgr = public_test_scenes[2].image
    expected = len(tiny_pipeline.process(bgr).faces)
    rgba = np.dstack([bgr[:, :, ::-1], np.full(bgr.shape[:2], 255, np.uint8)])
    assert len(tiny_pipeline.process_encoded(rgba, "rgba8").faces) == expected
    gray16 = (bgr[:, :, 1].astype(np.uint16) * 257)
    result = tiny_pipeline.process_encoded(gray16, "mono16")
    assert len(result.faces) >= expected - 1 and "decode" in result.timings_ms


@pytest.mark.parametrize("frame, message", [
    (np.zeros((1, 1, 3), np.uint8), "at least"),
    (np.zeros((0, 0), np.uint8), "at least"),
    (np.zeros((480, 640, 3), np.float32), "uint8"),
    (np.zeros((480, 640, 4), np.uint8), "to_bgr8"),
    (np.zeros((480, 640, 3, 2), np.uint8), "HxW"),
    ("not an image", "numpy array"),
])
def test_bad_frames_raise_input_error(tiny_pipeline, frame, message):
    with pytest.raises(InputError, match=message):
        tiny_pipeline.process(frame)


def test_faces_at_the_frame_edge_are_classified(tiny_pipeline, shared_dir):
    images, labels = faces.fer2013_faces("Training", limit=2)
    scene = faces.compose_frame(images[:1], labels[:1], face_px=170, seed=1)
    shifted = np.roll(scene.image, -int(scene.boxes[0].x + 50), axis=1)  # hangs off the left
    result = tiny_pipeline.process(shifted)
    assert result.faces, "face partly outside the frame was not found"
    assert all(f.box.x >= 0 for f in result.faces)


def test_runtime_threshold_updates_are_all_or_nothing(tiny_pipeline):
    before = tiny_pipeline.config
    tiny_pipeline.update_thresholds(detector={"score_threshold": 0.8}, smoothing=0.2)
    assert tiny_pipeline.config.detector.score_threshold == 0.8
    assert tiny_pipeline.detector.config.score_threshold == 0.8
    assert tiny_pipeline.tracker.config.smoothing == pytest.approx(0.2)
    with pytest.raises(ConfigError, match="nms_threshold"):
        tiny_pipeline.update_thresholds(score_threshold=0.5, nms_threshold=7)
    assert tiny_pipeline.detector.config.score_threshold == 0.8  # nothing applied
    with pytest.raises(ConfigError, match="restart"):
        tiny_pipeline.update_thresholds(classifier={"threads": 4})
    with pytest.raises(ConfigError, match="unknown or restart-only"):
        tiny_pipeline.update_thresholds(kind="haar")
    tiny_pipeline.update_thresholds(detector={"score_threshold": before.detector.score_threshold},
                                    tracker={"smoothing": before.tracker.smoothing})


def test_config_from_dict_rejects_unknown_and_mistyped_settings():
    with pytest.raises(ConfigError, match="unknown detector setting"):
        PipelineConfig.from_dict({"detector": {"score_treshold": 0.5}})
    with pytest.raises(ConfigError, match="unknown config section"):
        PipelineConfig.from_dict({"detectr": {}})
    with pytest.raises(ConfigError, match="must be a float"):
        PipelineConfig.from_dict({"detector": {"score_threshold": "high"}})
    with pytest.raises(ConfigError, match="true or false"):
        PipelineConfig.from_dict({"tracker": {"enabled": "yes"}})
    cfg = PipelineConfig.from_dict({"detector": {"score_threshold": 1}})  # YAML int -> float
    assert cfg.detector.score_threshold == 1.0
    assert PipelineConfig.from_dict(cfg.to_dict()) == cfg


def test_missing_bundle_fails_at_start_up_naming_the_path(tmp_path):
    with pytest.raises(ModelError, match="not a directory"):
        Pipeline(PipelineConfig.from_dict({"classifier": {"bundle": str(tmp_path / "none")}}))


def test_threshold_updates_from_another_thread_while_processing(tiny_pipeline,
                                                                public_test_scenes):
    """The node updates parameters from a callback thread while a worker processes frames."""
    import threading
    errors, stop = [], threading.Event()

    def toggle():
        value = 0.6
        while not stop.is_set():
            value = 0.7 if value == 0.6 else 0.6
            try:
                tiny_pipeline.update_thresholds(score_threshold=value, smoothing=value - 0.3)
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)

    thread = threading.Thread(target=toggle)
    thread.start()
    try:
        for scene in public_test_scenes[:15]:
            assert tiny_pipeline.process(scene.image).labels
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    tiny_pipeline.update_thresholds(score_threshold=0.6, smoothing=0.5)


def test_classify_crops_is_the_same_preprocessing_as_detected_faces(default_pipeline,
                                                                    public_test_scenes):
    """A face already cut out (a ROS4HRI detector's image) gives the probabilities the
    same pixels give as a box in the frame: one preprocessing, not a second one."""
    scene = public_test_scenes[0]
    spec = default_pipeline.bundle.input_spec
    crops, boxes = [], []
    for box in scene.boxes:
        # the square the frame path cuts for this box (side max(w, h) * (1 + 2 margin))
        grow = box.w * spec.crop_margin
        x0, y0, side = int(box.x - grow), int(box.y - grow), int(round(box.w + 2 * grow))
        crops.append(scene.image[y0:y0 + side, x0:x0 + side].copy())
        boxes.append(type(box)(float(x0), float(y0), float(side), float(side)))
    from_frame = default_pipeline.classify_boxes(scene.image, boxes)
    from_crops = default_pipeline.classify_crops(crops)
    assert from_crops.shape == (3, len(default_pipeline.labels))
    np.testing.assert_allclose(
        from_crops, from_frame, atol=1e-5,
        err_msg="classify_crops must equal classify_boxes on the same pixels")
    assert default_pipeline.classify_crops([]).shape == (0, len(default_pipeline.labels))
    with pytest.raises(InputError):
        default_pipeline.classify_crops([np.zeros((0, 5, 3), np.uint8)])
