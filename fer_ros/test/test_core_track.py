"""IoU tracker: stable ids for moving faces, forgetting, smoothing, off switch."""
import numpy as np
import pytest

from fer_ros.core.config import TrackerConfig
from fer_ros.core.errors import ConfigError
from fer_ros.core.track import IouTracker
from fer_ros.core.types import Box


def probs(*rows):
    return np.array(rows, np.float32)


def test_moving_faces_keep_their_ids():
    tracker = IouTracker(TrackerConfig(smoothing=0.0))
    ids0, _ = tracker.update([Box(0, 0, 100, 100), Box(300, 0, 100, 100)],
                             probs([1, 0], [0, 1]))
    assert ids0 == [0, 1]
    for step in range(1, 6):  # both drift 10 px per frame; listed in the other order
        ids, _ = tracker.update([Box(300 + 10 * step, 0, 100, 100), Box(10 * step, 0, 100, 100)],
                                probs([0, 1], [1, 0]))
        assert ids == [1, 0]


def test_new_face_gets_a_new_id_and_lost_tracks_are_forgotten():
    tracker = IouTracker(TrackerConfig(max_missed=2, smoothing=0.0))
    tracker.update([Box(0, 0, 50, 50)], probs([1, 0]))
    for _ in range(2):  # missed twice: still remembered
        tracker.update([], probs())
    ids, _ = tracker.update([Box(2, 2, 50, 50)], probs([1, 0]))
    assert ids == [0]
    for _ in range(3):  # missed three times: forgotten
        tracker.update([], np.zeros((0, 2), np.float32))
    ids, _ = tracker.update([Box(2, 2, 50, 50)], probs([1, 0]))
    assert ids == [1]


def test_smoothing_is_an_exponential_average_per_track():
    tracker = IouTracker(TrackerConfig(smoothing=0.5))
    _, out = tracker.update([Box(0, 0, 50, 50)], probs([1.0, 0.0]))
    np.testing.assert_allclose(out, [[1.0, 0.0]])
    _, out = tracker.update([Box(0, 0, 50, 50)], probs([0.0, 1.0]))
    np.testing.assert_allclose(out, [[0.5, 0.5]])
    _, out = tracker.update([Box(0, 0, 50, 50)], probs([0.0, 1.0]))
    np.testing.assert_allclose(out, [[0.25, 0.75]])
    np.testing.assert_allclose(out.sum(1), 1.0)


def test_disabled_tracker_passes_probabilities_through():
    tracker = IouTracker(TrackerConfig(enabled=False))
    p = probs([0.2, 0.8])
    ids, out = tracker.update([Box(0, 0, 50, 50)], p)
    assert ids == [-1] and out is p


def test_low_overlap_starts_a_new_track():
    tracker = IouTracker(TrackerConfig(iou_threshold=0.5, smoothing=0.0))
    tracker.update([Box(0, 0, 100, 100)], probs([1, 0]))
    ids, _ = tracker.update([Box(60, 0, 100, 100)], probs([1, 0]))  # IoU 0.25
    assert ids == [1]


def test_reset_and_runtime_changes():
    tracker = IouTracker(TrackerConfig())
    tracker.update([Box(0, 0, 50, 50)], probs([1, 0]))
    tracker.reset()
    assert tracker.update([Box(0, 0, 50, 50)], probs([1, 0]))[0] == [0]
    tracker.update_config(enabled=False)
    assert tracker.tracks == []
    with pytest.raises(ConfigError, match="smoothing"):
        tracker.update_config(smoothing=1.0)


THREE = [Box(0, 0, 100, 100), Box(200, 0, 100, 100), Box(400, 0, 100, 100)]


def _step(tracker, boxes, busy=False, value=1.0):
    """One frame where the classifier gives ``value`` for class 0 to the faces due."""
    due = tracker.due(boxes, busy)
    rows = np.array([[value, 1 - value] if d else [np.nan, np.nan] for d in due], np.float32)
    ids, out = tracker.update(boxes, rows.reshape(len(boxes), 2), due)
    return due, out


def test_followed_faces_are_classified_in_turns_new_ones_at_once():
    tracker = IouTracker(TrackerConfig(classify_interval=2, smoothing=0.0))
    due, _ = _step(tracker, THREE)
    assert due == [True] * 3, "new faces must be classified in the frame they appear"
    counts = [sum(_step(tracker, THREE)[0]) for _ in range(6)]
    assert counts in ([1, 2] * 3, [2, 1] * 3), \
        f"3 faces at interval 2 must cost 2, 1, 2, ... classifications per frame, got {counts}"
    due, _ = _step(tracker, THREE + [Box(600, 0, 100, 100)])
    assert due[3], "a face entering a followed view must be classified at once"


def test_a_face_off_its_turn_keeps_its_probabilities():
    tracker = IouTracker(TrackerConfig(classify_interval=3, smoothing=0.5))
    _step(tracker, THREE[:1], value=1.0)
    history = []
    for _ in range(6):
        due, out = _step(tracker, THREE[:1], value=0.0)
        history.append((due[0], float(out[0, 0])))
    assert not any(np.isnan(p) for _, p in history), f"a skipped row leaked: {history}"
    for (due, p), (_, before) in zip(history[1:], history[:-1]):
        if not due:
            assert p == before, f"a face off its turn changed its probabilities: {history}"
    assert sum(d for d, _ in history) == 2, f"interval 3 over 6 frames: 2 turns, {history}"


def test_a_busy_frame_defers_followed_faces_one_frame_never_two():
    tracker = IouTracker(TrackerConfig(classify_interval=2, smoothing=0.0))
    _step(tracker, THREE)
    due, _ = _step(tracker, THREE, busy=True)
    assert not any(due), "a frame with a full search must leave followed faces to the next"
    due, _ = _step(tracker, THREE, busy=True)
    assert any(due), "two busy frames running: the second must classify (bounded staleness)"
    ages = []
    for frame in range(40):  # busy every 5th frame: no face waits more than N + 1 frames
        due, _ = _step(tracker, THREE, busy=frame % 5 == 0)
        ages = [0 if d else a + 1 for d, a in zip(due, ages or [0] * 3)]
        assert max(ages) <= 2, f"a face went {max(ages)} frames unclassified (interval 2)"
    due, _ = _step(tracker, THREE + [Box(600, 0, 100, 100)], busy=True)
    assert due == [False, False, False, True], "new faces are classified even on busy frames"


def test_classify_interval_one_or_tracking_off_classifies_every_face():
    for config in (TrackerConfig(classify_interval=1), TrackerConfig(enabled=False)):
        tracker = IouTracker(config)
        for busy in (False, True, False):
            assert tracker.due(THREE, busy) == [True] * 3, config
            tracker.update(THREE, probs([1, 0], [1, 0], [1, 0]))
    with pytest.raises(ConfigError, match="classify_interval"):
        TrackerConfig(classify_interval=0)
    tracker = IouTracker(TrackerConfig(classify_interval=2))
    with pytest.raises(ValueError, match="was not classified"):
        tracker.update(THREE[:1], probs([1, 0]), [False])
