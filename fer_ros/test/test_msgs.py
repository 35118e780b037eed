"""fer_ros_msgs: the messages build, import, carry the documented fields, and survive CDR
serialization (the bytes DDS and rosbag2 carry) with real values."""
from __future__ import annotations

import math

import numpy as np
import pytest

try:
    from rclpy.serialization import deserialize_message, serialize_message
    from sensor_msgs.msg import RegionOfInterest
    from std_msgs.msg import Header

    from fer_ros_msgs.msg import Emotion, EmotionArray
except ImportError as exc:  # a collection error fails the run: never skip the message tests
    pytest.fail(f"fer_ros_msgs is not importable ({exc}): build it with `make setup` and run "
                "the tests with `make test` (which sources install/setup.bash)", pytrace=False)

pytestmark = pytest.mark.ros

LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def make_face(face_id: int, x: int, scores: list[float]) -> Emotion:
    best = int(np.argmax(scores))
    return Emotion(face_id=face_id,
                   roi=RegionOfInterest(x_offset=x, y_offset=40, width=96, height=112),
                   detector_score=0.9375, label=LABELS[best], confidence=scores[best],
                   scores=scores)


def make_array() -> EmotionArray:
    header = Header(frame_id="camera_color_optical_frame")
    header.stamp.sec, header.stamp.nanosec = 1_763_771_000, 123_456_789
    return EmotionArray(
        header=header, model_name="fer2013_resnet18", model_version="1.0.0", labels=LABELS,
        faces=[make_face(7, 10, [0.0, 0.0, 0.125, 0.75, 0.0, 0.0, 0.125]),
               make_face(4_000_000_000, 300, [0.5, 0.0, 0.0, 0.0, 0.25, 0.0, 0.25])])


def test_fields_and_types_are_the_documented_ones():
    assert Emotion.get_fields_and_field_types() == {
        "face_id": "uint32",
        "roi": "sensor_msgs/RegionOfInterest",
        "detector_score": "float",
        "label": "string",
        "confidence": "float",
        "scores": "sequence<float>",
    }
    assert EmotionArray.get_fields_and_field_types() == {
        "header": "std_msgs/Header",
        "model_name": "string",
        "model_version": "string",
        "labels": "sequence<string>",
        "faces": "sequence<fer_ros_msgs/Emotion>",
    }


def test_round_trip_through_cdr_keeps_every_value():
    original = make_array()
    data = serialize_message(original)
    assert isinstance(data, bytes) and len(data) > 100

    decoded = deserialize_message(data, EmotionArray)

    assert decoded == original
    assert decoded.header.stamp.sec == 1_763_771_000
    assert decoded.header.stamp.nanosec == 123_456_789
    assert decoded.header.frame_id == "camera_color_optical_frame"
    assert list(decoded.labels) == LABELS
    assert [f.face_id for f in decoded.faces] == [7, 4_000_000_000]
    happy = decoded.faces[0]
    assert (happy.roi.x_offset, happy.roi.y_offset, happy.roi.width, happy.roi.height) == \
        (10, 40, 96, 112)
    assert happy.label == "happy" and happy.confidence == 0.75
    assert happy.scores.tolist() == [0.0, 0.0, 0.125, 0.75, 0.0, 0.0, 0.125]


def test_scores_are_float32_on_the_wire():
    face = make_face(1, 0, [0.1, 0.2, 0.3, 0.1, 0.1, 0.1, 0.1])
    face.confidence = 0.3
    decoded = deserialize_message(serialize_message(EmotionArray(faces=[face])), EmotionArray)
    scores = np.asarray(decoded.faces[0].scores)
    assert scores.dtype == np.float32
    np.testing.assert_array_equal(scores, np.float32([0.1, 0.2, 0.3, 0.1, 0.1, 0.1, 0.1]))
    assert decoded.faces[0].confidence == float(np.float32(0.3))
    assert math.isclose(float(scores.sum()), 1.0, rel_tol=1e-6)


def test_empty_frame_round_trips_with_labels_and_no_faces():
    empty = EmotionArray(model_name="m", model_version="1", labels=LABELS)
    decoded = deserialize_message(serialize_message(empty), EmotionArray)
    assert list(decoded.faces) == [] and list(decoded.labels) == LABELS

