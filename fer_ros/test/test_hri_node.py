"""fer_node's REP-155 (ROS4HRI) and vision_msgs interfaces, node and test in separate processes
over DDS, with real FER2013 faces and the colcon-built hri_msgs/vision_msgs.

Camera mode: /humans/faces/tracked, /humans/faces/<id>/{roi,expression}, ~/detections and
~/label_info agree with the EmotionArray of the same frame (same stamp, same ids) and the
per-face topics go away when the faces leave. HRI mode: the test publishes faces the way
hri_face_detect does (tracked list, then one bgr8 128x128 aligned image per face, both with
the camera frame's header) and the node answers each face on <prefix>/<id>/expression.
"""
from __future__ import annotations

import uuid

import cv2
import numpy as np
import pytest

from fer_ros.core.labels import canonical_label

from faces import FER2013_LABELS, compose_frame, fer2013_faces, textured_background
from node_helpers import (Probe, bgr_image_msg, node_output, node_ready, require_runtime,
                          start_node, stop_node)
from test_hri_output import require_interfaces

pytestmark = [pytest.mark.ros, pytest.mark.slow, pytest.mark.shared_data]

rclpy = pytest.importorskip("rclpy", reason="rclpy not importable: source install/setup.bash")
RESEND_TRIES = 6


@pytest.fixture()
def probe(rclpy_context):
    require_interfaces()
    probe = Probe(rclpy_context, name=f"hri_probe_{uuid.uuid4().hex[:6]}")
    yield probe
    probe.close()


def _resend_until(probe, send, topic: str, what: str, start_index: int):
    """Publish frame ``start_index``, ``start_index + 1``, ... until ``topic`` answers one
    (a per-face topic may match only after its first message went out)."""
    for index in range(start_index, start_index + RESEND_TRIES):
        header = send(index)
        try:
            return index, probe.reply_to(topic, header, timeout=5.0)
        except AssertionError:
            continue
    raise AssertionError(f"no {what} on {topic} after {RESEND_TRIES} frames")


def _publishers(probe, topic: str) -> int:
    return probe.node.count_publishers(topic)


def test_camera_mode_publishes_rep155_and_vision_msgs(probe, ros_env):
    from fer_ros_msgs.msg import EmotionArray
    from hri_msgs.msg import Expression, IdsList, NormalizedRegionOfInterest2D
    from rclpy.qos import DurabilityPolicy, QoSProfile
    from sensor_msgs.msg import Image
    from vision_msgs.msg import Detection2DArray, LabelInfo
    require_runtime()
    ns = f"/hri_{uuid.uuid4().hex[:8]}"
    faces_prefix = "/humans/faces"  # the default: REP-155's name for a single camera
    images, labels = fer2013_faces("PublicTest", limit=3)
    scene = compose_frame(images, [FER2013_LABELS[k] for k in labels], frame_size=(640, 480),
                          face_px=(120, 160), seed=5)
    empty = textured_background(640, 480, np.random.default_rng(5))
    process = start_node(ros_env, namespace=ns, image_topic=f"{ns}/image_raw")
    try:
        probe.subscribe(EmotionArray, f"{ns}/emotions")
        probe.subscribe(IdsList, f"{faces_prefix}/tracked")
        probe.subscribe(Detection2DArray, f"{ns}/fer_node/detections")
        label_info = []
        probe.node.create_subscription(
            LabelInfo, f"{ns}/fer_node/label_info", label_info.append,
            QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL))
        publisher = node_ready(probe, process, f"{ns}/image_raw", Image)

        first = bgr_image_msg(scene.image, 1)
        emotions = probe.send_and_wait(publisher, first, f"{ns}/emotions")
        tracked = probe.reply_to(f"{faces_prefix}/tracked", first.header)
        ids = sorted(tracked.ids)
        assert len(ids) == 3, f"tracked ids {ids} for a frame with 3 faces"
        assert ids == sorted(f"f{f.face_id:05d}" for f in emotions.faces), \
            f"tracked ids {ids} do not name the EmotionArray faces"
        want_types = {}
        for rep_id in ids:
            want_types[f"{faces_prefix}/{rep_id}/roi"] = [
                "hri_msgs/msg/NormalizedRegionOfInterest2D"]
            want_types[f"{faces_prefix}/{rep_id}/expression"] = ["hri_msgs/msg/Expression"]
        want_types[f"{faces_prefix}/tracked"] = ["hri_msgs/msg/IdsList"]

        def graph_has_them():
            types = dict(probe.node.get_topic_names_and_types())
            return all(types.get(t) == v for t, v in want_types.items())
        probe.spin_until(graph_has_them, 10.0, f"the REP-155 topics with their types: "
                         f"{want_types}")
        for rep_id in ids:
            probe.subscribe(NormalizedRegionOfInterest2D, f"{faces_prefix}/{rep_id}/roi")
            probe.subscribe(Expression, f"{faces_prefix}/{rep_id}/expression")

        def send(index):
            msg = bgr_image_msg(scene.image, index)
            publisher.publish(msg)
            return msg.header
        index, _ = _resend_until(probe, send, f"{faces_prefix}/{ids[0]}/expression",
                                 "expression", 2)
        header = bgr_image_msg(scene.image, index).header
        emotions = probe.reply_to(f"{ns}/emotions", header)
        by_id = {f"f{f.face_id:05d}": f for f in emotions.faces}
        assert sorted(by_id) == ids, "the tracker must keep the ids of a still scene"
        assert sorted(probe.reply_to(f"{faces_prefix}/tracked", header).ids) == ids
        for rep_id in ids:
            face = by_id[rep_id]
            roi = probe.reply_to(f"{faces_prefix}/{rep_id}/roi", header)
            assert (roi.xmin * 640, roi.ymin * 480, roi.xmax * 640) == pytest.approx(
                (face.roi.x_offset, face.roi.y_offset, face.roi.x_offset + face.roi.width),
                abs=1.0), f"{rep_id}: roi {roi} vs EmotionArray {face.roi}"
            assert roi.c == pytest.approx(face.detector_score, abs=1e-6)
            expr = probe.reply_to(f"{faces_prefix}/{rep_id}/expression", header)
            want = {"angry": Expression.ANGRY, "disgust": Expression.DISGUSTED,
                    "fear": Expression.SCARED, "happy": Expression.HAPPY, "sad": Expression.SAD,
                    "surprise": Expression.SURPRISED, "neutral": Expression.NEUTRAL}
            assert (expr.expression, expr.confidence) == (
                want[canonical_label(face.label)], pytest.approx(face.confidence, abs=1e-6)), \
                f"{rep_id}: expression {expr.expression} {expr.confidence} vs {face.label}"
        dets = probe.reply_to(f"{ns}/fer_node/detections", header)
        assert sorted(d.id for d in dets.detections) == ids
        probe.spin_until(lambda: label_info, 10.0, "the latched ~/label_info")
        assert [c.class_name for c in label_info[0].class_map] == list(emotions.labels)

        # The faces leave: after the tracker's max_missed (5) empty frames they are gone.
        for k in range(index + 1, index + 9):
            msg = bgr_image_msg(empty, k)
            assert probe.send_and_wait(publisher, msg, f"{ns}/emotions").faces == []
            assert list(probe.reply_to(f"{faces_prefix}/tracked", msg.header).ids) == []
        probe.spin_until(
            lambda: all(_publishers(probe, f"{faces_prefix}/{rep_id}/{suffix}") == 0
                        for rep_id in ids for suffix in ("roi", "expression")),
            10.0, "the per-face publishers of the faces that left to be destroyed")
    finally:
        code, output = stop_node(process)
    assert code == 0, f"fer_node exited with {code}:\n{output[-3000:]}"


def _aligned(face48: np.ndarray, header):
    """A 128x128 bgr8 face image as hri_face_detect publishes on /humans/faces/<id>/aligned."""
    from node_helpers import bgr_image_msg as to_msg
    face = cv2.cvtColor(cv2.resize(face48, (128, 128), interpolation=cv2.INTER_CUBIC),
                        cv2.COLOR_GRAY2BGR)
    msg = to_msg(face, 0)
    msg.header = header
    return msg, face


def test_hri_input_mode_classifies_the_faces_of_a_ros4hri_detector(probe, ros_env,
                                                                    default_bundle):
    from fer_ros_msgs.msg import EmotionArray
    from hri_msgs.msg import Expression, IdsList
    from sensor_msgs.msg import Image
    from fer_ros.core.pipeline import Pipeline
    from fer_ros.ros.hri_mapping import ExpressionMapper, FaceIdCodec
    require_runtime()
    ns = f"/hri_{uuid.uuid4().hex[:8]}"
    prefix = f"/humans_{uuid.uuid4().hex[:6]}/faces"
    images, _ = fer2013_faces("PublicTest", limit=2)
    ids = ["qwert", "f00003"]  # hri_face_detect's random and deterministic id forms
    process = start_node(ros_env, "-p", "input.source:=hri", "-p", f"hri.prefix:={prefix}",
                         namespace=ns)
    try:
        probe.subscribe(EmotionArray, f"{ns}/emotions")
        tracked_pub = probe.publisher(IdsList, f"{prefix}/tracked", depth=1)
        probe.wait_matched(tracked_pub, process)
        aligned_pubs = {i: probe.publisher(Image, f"{prefix}/{i}/aligned", depth=1) for i in ids}
        for rep_id in ids:
            probe.subscribe(Expression, f"{prefix}/{rep_id}/expression")

        def send(index, live=ids):
            header = _header(index)
            tracked_pub.publish(IdsList(header=header, ids=list(live)))
            for rep_id in live:
                probe.spin_until(lambda p=aligned_pubs[rep_id]: p.get_subscription_count(),
                                 10.0, f"fer_node to subscribe {prefix}/{rep_id}/aligned")
                aligned_pubs[rep_id].publish(_aligned(images[ids.index(rep_id)], header)[0])
            return header
        index, _ = _resend_until(probe, send, f"{prefix}/{ids[1]}/expression", "expression", 1)
        header = _header(index)
        pipeline = Pipeline(bundle=default_bundle)
        mapper = ExpressionMapper(pipeline.labels)
        emotions = probe.reply_to(f"{ns}/emotions", header)
        codec = FaceIdCodec()
        assert sorted(codec.rep_id_of(f.face_id) for f in emotions.faces) == sorted(ids), \
            "EmotionArray face_ids must decode to the detector's REP-155 ids"
        for rep_id in ids:
            expr = probe.reply_to(f"{prefix}/{rep_id}/expression", header)
            face = _aligned(images[ids.index(rep_id)], header)[1]
            probs = pipeline.classify_crops([face])[0]
            name, confidence, valence, arousal = mapper.map(probs)
            assert (expr.expression, expr.confidence, expr.valence, expr.arousal) == (
                getattr(Expression, name), pytest.approx(confidence, abs=1e-5),
                pytest.approx(valence, abs=1e-5), pytest.approx(arousal, abs=1e-5)), \
                f"{rep_id}: node said {expr}, the same crop classified here gives {name}"
        pipeline.close()

        # One face leaves the tracked list: its expression topic and aligned subscription go.
        tracked_pub.publish(IdsList(header=_header(index + 1), ids=[ids[1]]))
        probe.spin_until(
            lambda: _publishers(probe, f"{prefix}/{ids[0]}/expression") == 0
            and probe.node.count_subscribers(f"{prefix}/{ids[0]}/aligned") == 0,
            10.0, f"fer_node to drop {ids[0]}'s expression topic and aligned subscription")
        assert _publishers(probe, f"{prefix}/{ids[1]}/expression") == 1
    finally:
        code, output = stop_node(process)
    assert code == 0, f"fer_node exited with {code}:\n{output[-3000:]}"
    assert "input.source hri" in output, output[-2000:]


def _header(index: int):
    from std_msgs.msg import Header
    header = Header(frame_id="camera_color_optical_frame")
    header.stamp.sec, header.stamp.nanosec = 1_700_000_000 + index, 1000 * index + 7
    return header


def test_node_without_tracking_still_serves_emotions(probe, ros_env):
    """Untracked faces have no REP-155 id: the tracked list stays empty, EmotionArray works."""
    from fer_ros_msgs.msg import EmotionArray
    from hri_msgs.msg import IdsList
    require_runtime()
    ns = f"/hri_{uuid.uuid4().hex[:8]}"
    prefix = f"/humans_{uuid.uuid4().hex[:6]}/faces"
    images, labels = fer2013_faces("PublicTest", limit=2)
    scene = compose_frame(images, [FER2013_LABELS[k] for k in labels], seed=2)
    process = start_node(ros_env, "-p", "pipeline.tracker.enabled:=false", "-p",
                         f"hri.prefix:={prefix}", namespace=ns, image_topic=f"{ns}/image_raw")
    try:
        probe.subscribe(EmotionArray, f"{ns}/emotions")
        probe.subscribe(IdsList, f"{prefix}/tracked")
        publisher = node_ready(probe, process, f"{ns}/image_raw")
        msg = bgr_image_msg(scene.image, 1)
        assert len(probe.send_and_wait(publisher, msg, f"{ns}/emotions").faces) == 2
        assert list(probe.reply_to(f"{prefix}/tracked", msg.header).ids) == []
    finally:
        code, output = stop_node(process)
    assert code == 0, node_output(process)[-3000:]
    assert output.count("have no REP-155 id") == 1, f"expected one log line:\n{output}"


def _without_interfaces(env: dict) -> dict:
    """``env`` as on a robot without hri_msgs and vision_msgs installed."""
    env = dict(env)
    for key in ("PYTHONPATH", "AMENT_PREFIX_PATH", "LD_LIBRARY_PATH", "CMAKE_PREFIX_PATH"):
        env[key] = ":".join(p for p in env.get(key, "").split(":")
                            if "/hri_msgs" not in p and "/vision_msgs" not in p)
    return env


def test_without_the_message_packages_the_node_runs_as_before(probe, ros_env):
    from fer_ros_msgs.msg import EmotionArray
    require_runtime()
    ns = f"/hri_{uuid.uuid4().hex[:8]}"
    images, labels = fer2013_faces("PublicTest", limit=1)
    scene = compose_frame(images, [FER2013_LABELS[k] for k in labels], seed=4)
    process = start_node(_without_interfaces(ros_env), namespace=ns,
                         image_topic=f"{ns}/image_raw")
    try:
        probe.subscribe(EmotionArray, f"{ns}/emotions")
        publisher = node_ready(probe, process, f"{ns}/image_raw")
        for index in (1, 2):
            msg = bgr_image_msg(scene.image, index)
            assert len(probe.send_and_wait(publisher, msg, f"{ns}/emotions").faces) == 1
    finally:
        code, output = stop_node(process)
    assert code == 0, output[-3000:]
    for package in ("hri_msgs", "vision_msgs"):
        lines = [line for line in output.splitlines() if f"{package} is not installed" in line]
        assert len(lines) == 1, f"expected one log line saying {package} is missing:\n{output}"


def test_hri_input_without_hri_msgs_is_a_clear_start_up_error(ros_env):
    require_runtime()
    process = start_node(_without_interfaces(ros_env), "-p", "input.source:=hri")
    try:
        process.wait(timeout=120)
    finally:
        code, output = stop_node(process)
    assert code == 1 and "hri_msgs is not installed" in output, output[-3000:]
