"""vision_msgs output: ``~/detections`` (Detection2DArray) and ``~/label_info`` (LabelInfo).

As the vision_msgs convention asks: one Detection2D per face (bbox in source-image pixels,
``id`` = the REP-155 face id, "" for an untracked face), one ObjectHypothesisWithPose per
class (class_id = label, score = probability), the source header; LabelInfo (class id ->
name) latched with transient-local durability so late subscribers get it.
"""
from __future__ import annotations

from fer_ros.core.emotion_array import clip_box
from fer_ros.ros.hri_mapping import rep_face_id


def vision_available() -> bool:
    """True when vision_msgs is importable."""
    try:
        import vision_msgs.msg  # noqa: F401
    except ImportError:
        return False
    return True


def detections_msg(result, header, image_shape):
    """core FrameResult -> vision_msgs/Detection2DArray with the source header."""
    from vision_msgs.msg import (Detection2D, Detection2DArray, ObjectHypothesis,
                                 ObjectHypothesisWithPose)
    height, width = int(image_shape[0]), int(image_shape[1])
    detections = []
    for face in result.faces:
        x0, y0, x1, y1 = clip_box(face.box, width, height)
        det = Detection2D(header=header,
                          id=rep_face_id(face.track_id) if face.track_id >= 0 else "")
        det.bbox.center.position.x = (x0 + x1) / 2.0
        det.bbox.center.position.y = (y0 + y1) / 2.0
        det.bbox.size_x, det.bbox.size_y = float(x1 - x0), float(y1 - y0)
        det.results = [ObjectHypothesisWithPose(
            hypothesis=ObjectHypothesis(class_id=str(label), score=float(p)))
            for label, p in zip(result.labels, face.scores)]
        detections.append(det)
    return Detection2DArray(header=header, detections=detections)


def label_info_msg(labels, header):
    """vision_msgs/LabelInfo: class index -> label; threshold 0 (every class is reported)."""
    from vision_msgs.msg import LabelInfo, VisionClass
    return LabelInfo(header=header, threshold=0.0, class_map=[
        VisionClass(class_id=i, class_name=str(label)) for i, label in enumerate(labels)])


class DetectionsOutput:
    """Publishes ``~/detections`` per frame and ``~/label_info`` once (transient local)."""

    def __init__(self, node, labels, frame_id: str = "") -> None:
        from rclpy.qos import DurabilityPolicy, QoSProfile
        from vision_msgs.msg import Detection2DArray, LabelInfo
        from std_msgs.msg import Header
        self.pub = node.create_publisher(Detection2DArray, "~/detections", 10)
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.label_info_pub = node.create_publisher(LabelInfo, "~/label_info", latched)
        header = Header(frame_id=frame_id, stamp=node.get_clock().now().to_msg())
        self.label_info_pub.publish(label_info_msg(labels, header))

    def publish(self, result, header, image_shape) -> None:
        """Only when someone subscribes (building the message is most of its cost)."""
        if self.pub.get_subscription_count() > 0:
            self.pub.publish(detections_msg(result, header, image_shape))
