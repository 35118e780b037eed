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
