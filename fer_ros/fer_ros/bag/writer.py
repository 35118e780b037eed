"""The result bag: fer_ros_msgs/EmotionArray per processed image, with the source stamps."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_ros.bag.typestore import COMPRESSED, EMOTION, EMOTION_ARRAY, typestore
from fer_ros.ros.convert import _clip_box  # the node's own box -> RegionOfInterest rounding


def emotions_topic(image_topic: str, msgtype: str) -> str:
    """``/camera/image_raw`` and ``/camera/image_raw/compressed`` -> ``/camera/emotions``."""
    base = image_topic.rstrip("/")
    if msgtype == COMPRESSED and base.endswith("/compressed"):
        base = base[: -len("/compressed")]
    namespace = base.rsplit("/", 1)[0]
    return f"{namespace}/emotions"


def plan_emotion_topics(image_topics: list[tuple[str, str]]) -> dict[str, str]:
    """image topic -> result topic; when two cameras' topics share a namespace
    (raw and compressed of one camera), raw Image topics keep it and the others get
    ``<image topic>/emotions``."""
    taken, plan = set(), {}
    for topic, msgtype in sorted(image_topics, key=lambda t: t[1] == COMPRESSED):
        out = emotions_topic(topic, msgtype)
        if out in taken:
            out = f"{topic.rstrip('/')}/emotions"
        taken.add(out)
        plan[topic] = out
    return plan


def emotion_array(result, header, model_name: str, model_version: str, image_shape):
    """core FrameResult -> rosbags EmotionArray (same fields as ros.convert.result_to_msg)."""
    store = typestore()
    emotion_cls, roi_cls = store.types[EMOTION], store.types["sensor_msgs/msg/RegionOfInterest"]
    height, width = int(image_shape[0]), int(image_shape[1])
    faces = []
    for face in result.faces:
        x0, y0, x1, y1 = _clip_box(face.box, width, height)
        faces.append(emotion_cls(
            face_id=max(int(face.track_id), 0),
            roi=roi_cls(x_offset=x0, y_offset=y0, height=y1 - y0, width=x1 - x0,
                        do_rectify=False),
            detector_score=float(face.detector_score), label=str(face.label),
            confidence=float(face.confidence),
            scores=np.asarray(face.scores, np.float32)))
    return store.types[EMOTION_ARRAY](header=header, model_name=model_name,
                                      model_version=model_version,
                                      labels=list(result.labels), faces=faces)


class ResultBag:
    """Writes EmotionArray messages to a new rosbag2 (mcap) directory."""

    def __init__(self, path: Path, topics: dict[str, str]) -> None:
        from rosbags.rosbag2 import StoragePlugin, Writer
        self.path = Path(path)
        self._writer = Writer(self.path, version=9, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        store = typestore()
        self._conns = {src: self._writer.add_connection(dst, EMOTION_ARRAY, typestore=store)
                       for src, dst in topics.items()}

    def write(self, image_topic: str, log_time_ns: int, msg) -> None:
        raw = typestore().serialize_cdr(msg, EMOTION_ARRAY)
        self._writer.write(self._conns[image_topic], log_time_ns, raw)

    def close(self) -> None:
        self._writer.close()
