"""The one conversion of a core FrameResult into a fer_ros_msgs/EmotionArray.

The node publishes rclpy messages and the bag tools write rosbags messages; both build them
here, from their own message classes (:class:`MessageTypes`), so the two can never disagree
on a field. No ROS import: the classes come from the caller.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

#: fer_ros_msgs/Emotion.FACE_ID_UNTRACKED: the face_id of a face the tracker does not follow
#: (tracking off, or single photos). A uint32 field cannot hold the core's -1.
FACE_ID_UNTRACKED = 0xFFFFFFFF


class MessageTypes(NamedTuple):
    """Message classes of one ROS client library (rclpy or rosbags) and its float32[] form."""
    emotion_array: type
    emotion: type
    roi: type
    float_array: Callable[[Any], Any]


def face_id(track_id: int) -> int:
    """Core track id (-1 = untracked) -> Emotion.face_id (uint32)."""
    track_id = int(track_id)
    return FACE_ID_UNTRACKED if track_id < 0 else track_id % FACE_ID_UNTRACKED


def clip_box(box, width: int, height: int) -> tuple[int, int, int, int]:
    """Float box -> integer corners clipped to the image (RegionOfInterest is unsigned)."""
    x0 = int(np.clip(round(box.x), 0, width))
    y0 = int(np.clip(round(box.y), 0, height))
    x1 = int(np.clip(round(box.x + box.w), x0, width))
    y1 = int(np.clip(round(box.y + box.h), y0, height))
    return x0, y0, x1, y1


def build_emotion_array(types: MessageTypes, result, header, model_name: str,
                        model_version: str, image_shape: tuple[int, ...]):
    """FrameResult -> EmotionArray of ``types``, with the source header unchanged."""
    height, width = int(image_shape[0]), int(image_shape[1])
    faces = []
    for face in result.faces:
        x0, y0, x1, y1 = clip_box(face.box, width, height)
        faces.append(types.emotion(
            face_id=face_id(face.track_id),
            roi=types.roi(x_offset=x0, y_offset=y0, height=y1 - y0, width=x1 - x0,
                          do_rectify=False),
            detector_score=float(face.detector_score), label=str(face.label),
            confidence=float(face.confidence),
            scores=types.float_array(face.scores)))
    return types.emotion_array(header=header, model_name=model_name,
                               model_version=model_version, labels=list(result.labels),
                               faces=faces)
