"""The result bag: fer_ros_msgs/EmotionArray per processed image, with the source stamps."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_ros.bag.typestore import COMPRESSED, EMOTION, EMOTION_ARRAY, typestore
from fer_ros.core.emotion_array import MessageTypes, build_emotion_array


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
    """core FrameResult -> rosbags EmotionArray (the node's conversion, rosbags classes)."""
    store = typestore()
    types = MessageTypes(store.types[EMOTION_ARRAY], store.types[EMOTION],
                         store.types["sensor_msgs/msg/RegionOfInterest"],
                         lambda scores: np.asarray(scores, np.float32))
    return build_emotion_array(types, result, header, model_name, model_version, image_shape)


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
