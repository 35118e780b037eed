"""``input.source: hri``: classify the faces an existing ROS4HRI detector publishes.

Follows ``<prefix>/tracked`` (hri_msgs/IdsList) and, for each listed id, subscribes
``<prefix>/<id>/aligned`` (or ``cropped``): the face images hri_face_detect publishes (bgr8,
128x128, the face box letterboxed). Subscriptions come and go with the ids. Each face image is
classified as it is (no detector, no tracker: the detector's ids are the identity) and answered
on ``<prefix>/<id>/expression`` with the image's own header, and in the node's EmotionArray.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from fer_ros.core.types import Box, FaceEmotion, FrameResult
from fer_ros.ros.hri_output import FACE_QOS_DEPTH, FaceTopics, expression_msg

IMAGE_KINDS = ("aligned", "cropped")


@dataclass
class FaceCrops:
    """Newest face image per id, waiting for the worker (older ones are dropped)."""

    msgs: dict[str, tuple[object, float]] = field(default_factory=dict)

    def add(self, rep_id: str, msg, arrival: float) -> bool:
        """Store ``msg``; True when it replaced an unprocessed image of the same face."""
        replaced = rep_id in self.msgs
        self.msgs[rep_id] = (msg, arrival)
        return replaced

    def complete(self, live: frozenset[str]) -> bool:
        """True when every tracked face has an image waiting: classify them together, so one
        EmotionArray holds the camera frame's faces."""
        return live.issubset(self.msgs)


class HriFaceInput:
    """Subscriptions to a ROS4HRI detector: the tracked list and one image topic per face."""

    def __init__(self, node, prefix: str, image_kind: str,
                 on_image: Callable[[str, object], None]) -> None:
        """``on_image(id, msg)`` gets each face image; ``on_image("", None)`` says that faces
        left (the worker then removes their expression topics)."""
        from hri_msgs.msg import IdsList
        from sensor_msgs.msg import Image
        self.node, self.prefix, self.kind = node, prefix.rstrip("/"), image_kind
        self._on_image, self._image_type = on_image, Image
        self._subs: dict[str, object] = {}
        self.ids: frozenset[str] = frozenset()  # replaced whole: the worker thread reads it
        self.tracked_topic = f"{self.prefix}/tracked"
        self.tracked_sub = node.create_subscription(IdsList, self.tracked_topic,
                                                    self._on_tracked, 10)

    def _on_tracked(self, msg) -> None:
        live = frozenset(str(i) for i in msg.ids if i)
        gone = self.ids - live
        for rep_id in gone:
            self.node.destroy_subscription(self._subs.pop(rep_id))
        for rep_id in live - self.ids:
            self._subs[rep_id] = self.node.create_subscription(
                self._image_type, f"{self.prefix}/{rep_id}/{self.kind}",
                lambda m, r=rep_id: self._on_image(r, m), FACE_QOS_DEPTH)
        self.ids = live
        if gone:
            self._on_image("", None)


class HriExpressions:
    """Classifies a batch of face images and publishes their expressions and EmotionArrays."""

    def __init__(self, node, prefix: str, pipeline, mapper, codec) -> None:
        from hri_msgs.msg import Expression
        self.pipeline, self.mapper, self.codec = pipeline, mapper, codec
        self.faces = FaceTopics(node, prefix, {"expression": Expression})

    def classify(self, images: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """id -> class probabilities, one inference batch for all faces."""
        ids = list(images)
        probs = self.pipeline.classify_crops([images[i] for i in ids])
        return dict(zip(ids, probs))

    def publish(self, probs: dict[str, np.ndarray], headers: dict[str, object],
                live: set[str]) -> list[tuple[object, FrameResult]]:
        """Expressions of faces still tracked; returns (header, FrameResult) per source frame
        (faces of one camera frame share its stamp) for the EmotionArray."""
        for rep_id in self.faces.ids - live:
            self.codec.forget(rep_id)
        self.faces.sync((self.faces.ids | set(probs)) & live)
        frames: dict[tuple, tuple[object, list[FaceEmotion]]] = {}
        for rep_id, p in probs.items():
            if rep_id not in live:
                continue  # left while being classified: its topic is gone
            header = headers[rep_id]
            self.faces.publish(rep_id, "expression", expression_msg(self.mapper, p, header))
            best = int(np.argmax(p))
            face = FaceEmotion(box=Box(0.0, 0.0, 0.0, 0.0), detector_score=0.0,
                               track_id=self.codec.face_id_of(rep_id),
                               label=self.pipeline.labels[best], confidence=float(p[best]),
                               scores=np.asarray(p, np.float32))
            key = (header.stamp.sec, header.stamp.nanosec, header.frame_id)
            frames.setdefault(key, (header, []))[1].append(face)
        return [(header, FrameResult(faces=faces, labels=self.pipeline.labels))
                for header, faces in frames.values()]
