"""REP-155 (ROS4HRI) face topics: ``<prefix>/tracked`` and ``<prefix>/<id>/{roi,expression}``.

QoS as hri_face_detect publishes them: reliable, volatile, keep-last 1. A message is built
only for a topic someone subscribes to (volatile keep-last 1: a subscriber that joins later
would not get it anyway; with the vision_msgs output, building them costs about 1.7 ms per
3-face frame: `node_rep155` in benchmarks/latest.json). Per-face
publishers exist while their face does, subscribed or not (the topics are how REP-155
consumers find the faces): :meth:`FaceTopics.sync` creates them for new ids and destroys
those of ids that are gone, so a node running for days does not pile up publishers.
Mappings (ids, expression constants, valence/arousal) are in :mod:`fer_ros.ros.hri_mapping`.
"""
from __future__ import annotations

from typing import Iterable

from fer_ros.ros.hri_mapping import ExpressionMapper, rep_face_id

DEFAULT_PREFIX = "/humans/faces"
FACE_QOS_DEPTH = 1  # hri_face_detect uses keep-last 1 for tracked and per-face topics


def hri_available() -> bool:
    """True when hri_msgs (REP-155 messages) is importable."""
    try:
        import hri_msgs.msg  # noqa: F401
    except ImportError:
        return False
    return True


class FaceTopics:
    """One publisher per (face id, topic suffix), created and destroyed with the face."""

    def __init__(self, node, prefix: str, kinds: dict[str, type]) -> None:
        self.node, self.prefix, self.kinds = node, prefix.rstrip("/"), kinds
        self._publishers: dict[str, dict[str, object]] = {}

    @property
    def ids(self) -> set[str]:
        return set(self._publishers)

    def sync(self, live_ids: Iterable[str]) -> None:
        """Publishers for exactly ``live_ids``: create the new ones, destroy the gone ones."""
        live = set(live_ids)
        for gone in self.ids - live:
            for publisher in self._publishers.pop(gone).values():
                self.node.destroy_publisher(publisher)
        for new in live - self.ids:
            self._publishers[new] = {
                suffix: self.node.create_publisher(msg_type, f"{self.prefix}/{new}/{suffix}",
                                                   FACE_QOS_DEPTH)
                for suffix, msg_type in self.kinds.items()}

    @property
    def publishers(self) -> list:
        """Every live face's publishers (e.g. to subscribe to all of them)."""
        return [pub for by_suffix in self._publishers.values() for pub in by_suffix.values()]

    def wanted(self, face: str, suffix: str) -> bool:
        """Whether anyone subscribes to this face's ``suffix`` topic."""
        return self._publishers[face][suffix].get_subscription_count() > 0

    def publish(self, face: str, suffix: str, msg) -> None:
        self._publishers[face][suffix].publish(msg)

    def close(self) -> None:
        self.sync(())


def expression_msg(mapper: ExpressionMapper, probs, header):
    """hri_msgs/Expression of one face: the message's own constant, class probability, V/A."""
    from hri_msgs.msg import Expression
    name, confidence, valence, arousal = mapper.map(probs)
    return Expression(header=header, expression=getattr(Expression, name),
                      valence=valence, arousal=arousal, confidence=confidence)


def roi_msg(box, score: float, width: int, height: int, header):
    """hri_msgs/NormalizedRegionOfInterest2D: corners over the image size, clipped to [0, 1]."""
    from hri_msgs.msg import NormalizedRegionOfInterest2D
    unit = lambda v: float(min(max(v, 0.0), 1.0))  # noqa: E731
    return NormalizedRegionOfInterest2D(
        header=header, xmin=unit(box.x / width), ymin=unit(box.y / height),
        xmax=unit((box.x + box.w) / width), ymax=unit((box.y + box.h) / height),
        c=unit(score))


class HriOutput:
    """Camera mode: every processed frame -> tracked list + roi and expression per face."""

    def __init__(self, node, prefix: str, labels) -> None:
        from hri_msgs.msg import Expression, IdsList, NormalizedRegionOfInterest2D
        self.mapper = ExpressionMapper(labels)
        self.tracked_pub = node.create_publisher(IdsList, f"{prefix.rstrip('/')}/tracked",
                                                 FACE_QOS_DEPTH)
        self.faces = FaceTopics(node, prefix, {"roi": NormalizedRegionOfInterest2D,
                                               "expression": Expression})
        self._ids_list = IdsList
        self.untracked_skipped = 0  # faces without a track id have no REP-155 id

    def publish(self, result, header, image_shape, live_track_ids: Iterable[int]) -> None:
        """One frame's faces; per-face publishers live while the tracker keeps the face."""
        height, width = int(image_shape[0]), int(image_shape[1])
        tracked = [f for f in result.faces if f.track_id >= 0]
        self.untracked_skipped += len(result.faces) - len(tracked)
        ids = [rep_face_id(f.track_id) for f in tracked]
        self.faces.sync(set(ids) | {rep_face_id(t) for t in live_track_ids})
        if self.tracked_pub.get_subscription_count() > 0:
            self.tracked_pub.publish(self._ids_list(header=header, ids=ids))
        for face, rep_id in zip(tracked, ids):
            if self.faces.wanted(rep_id, "roi"):
                self.faces.publish(rep_id, "roi",
                                   roi_msg(face.box, face.detector_score, width, height, header))
            if self.faces.wanted(rep_id, "expression"):
                self.faces.publish(rep_id, "expression",
                                   expression_msg(self.mapper, face.scores, header))

    def close(self) -> None:
        self.faces.close()
