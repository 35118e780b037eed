"""fer_node as a real process over real DDS, fed frames composed of real FER2013 faces.

One node serves this module (model loading and discovery take seconds). It runs with
``tracker.smoothing = 0`` so every published score can be checked against the in-process
core pipeline on the same frame, and with ``input.compressed = true``.
"""
from __future__ import annotations

import array
import math
import uuid

import cv2
import numpy as np
import pytest

from faces import FER2013_LABELS, compose_frame, fer2013_faces, match_boxes, \
    textured_background
from node_helpers import (Probe, bgr_image_msg, found_boxes, jpeg_msg, node_ready,
                          require_runtime, set_parameters, start_node, stamped, stop_node)

pytestmark = [pytest.mark.ros, pytest.mark.shared_data, pytest.mark.slow]

rclpy = pytest.importorskip("rclpy", reason="rclpy not importable: source install/setup.bash")


@pytest.fixture(scope="module")
def scenes():
    """Frames of 3 real faces each (FER2013 PublicTest), with their true boxes."""
    images, labels = fer2013_faces("PublicTest", limit=30)
    return [compose_frame(images[3 * i:3 * i + 3],
                          [FER2013_LABELS[k] for k in labels[3 * i:3 * i + 3]], seed=i)
            for i in range(5)]


@pytest.fixture(scope="module")
def reference():
    """The core pipeline in this process, configured like the node under test."""
    from fer_ros.core.config import PipelineConfig
    from fer_ros.core.pipeline import Pipeline
    return Pipeline(PipelineConfig.from_dict({"tracker": {"smoothing": 0.0}}))


class Running:
    """The node process under test and the probe that talks to it."""

    def __init__(self, process, probe, namespace, image_topic):
        self.process, self.probe = process, probe
        self.namespace, self.image_topic = namespace, image_topic
        self.name = f"{namespace}/fer_node"
        self.emotions = f"{namespace}/emotions"
        self.annotated = f"{namespace}/fer_node/annotated"


@pytest.fixture(scope="module")
def running():
    require_runtime()
    import os
    from diagnostic_msgs.msg import DiagnosticArray
    from fer_ros_msgs.msg import EmotionArray
    namespace = f"/fer_it_{uuid.uuid4().hex[:8]}"
    image_topic = f"{namespace}/camera/image_raw"
    process = start_node(dict(os.environ, PYTHONUNBUFFERED="1"),
                         "-p", "pipeline.tracker.smoothing:=0.0",
                         "-p", "input.compressed:=true",
                         namespace=namespace, image_topic=image_topic)
    context = rclpy.Context()
    rclpy.init(context=context)
    probe = Probe(context)
    node = Running(process, probe, namespace, image_topic)
    probe.subscribe(EmotionArray, node.emotions)
    probe.subscribe(DiagnosticArray, "/diagnostics")
    try:
        node.images = node_ready(probe, process, image_topic)
        yield node
    finally:
        probe.close()
        rclpy.try_shutdown(context=context)
        stop_node(process)


def _check_consistent(msg, labels):
    """Every face: label = argmax of scores, confidence = max, scores a distribution."""
    for face in msg.faces:
        scores = np.asarray(face.scores)
        assert len(scores) == len(labels), f"{len(scores)} scores for {len(labels)} labels"
        assert face.label == labels[int(np.argmax(scores))]
        assert face.confidence == pytest.approx(float(scores.max()), abs=1e-6)
        assert scores.sum() == pytest.approx(1.0, abs=1e-3)
        assert 0.0 <= face.detector_score <= 1.0


@pytest.mark.parametrize("encoding", ["bgr8", "rgb8", "mono8"])
def test_real_faces_give_emotions_with_source_header(running, scenes, reference, encoding):
    probe, offset = running.probe, {"bgr8": 0, "rgb8": 100, "mono8": 200}[encoding]
    for i, scene in enumerate(scenes):
        sent = bgr_image_msg(scene.image, offset + i, encoding)
        reply = probe.send_and_wait(running.images, sent, running.emotions)
        assert reply.header == sent.header, "the source image header must be copied unchanged"
        assert tuple(reply.labels) == reference.labels
        assert (reply.model_name, reply.model_version) == (reference.model_name,
                                                           reference.model_version)
        found = found_boxes(reply)
        matches = match_boxes(scene.boxes, found)
        assert None not in matches, f"frame {i} ({encoding}): faces at {scene.boxes} " \
                                    f"not all found, got {found}"
        _check_consistent(reply, reply.labels)
        if encoding == "mono8":
            continue  # the reference below runs on the colour frame
        # The node publishes exactly what the core computes on this frame (smoothing is
        # off in both, so scores do not depend on earlier frames).
        local = reference.process(scene.image)
        pairs = match_boxes([f.box for f in local.faces], found, min_iou=0.9)
        assert None not in pairs and len(local.faces) == len(found)
        for face, j in zip(local.faces, pairs):
            assert reply.faces[j].label == face.label
            np.testing.assert_allclose(reply.faces[j].scores, face.scores, atol=1e-4,
                                       err_msg="node scores differ from the core pipeline")


def test_face_ids_stay_stable_while_faces_move(running, scenes):
    scene, probe = scenes[0], running.probe
    ids_per_frame = []
    for step in range(5):
        shift = np.float32([[1, 0, 3 * step], [0, 1, 2 * step]])  # faces drift a few px
        image = cv2.warpAffine(scene.image, shift, scene.image.shape[1::-1],
                               borderMode=cv2.BORDER_REPLICATE)
        reply = probe.send_and_wait(running.images, bgr_image_msg(image, 300 + step),
                                    running.emotions)
        found = found_boxes(reply)
        matches = match_boxes(scene.boxes, found, min_iou=0.5)
        assert None not in matches, f"step {step}: lost a face; found {found}"
        ids_per_frame.append([reply.faces[j].face_id for j in matches])
    assert len(set(ids_per_frame[0])) == 3, f"faces share an id: {ids_per_frame[0]}"
    assert all(ids == ids_per_frame[0] for ids in ids_per_frame), \
        f"face ids changed across frames: {ids_per_frame}"


def test_frame_without_faces_still_publishes(running):
    background = textured_background(640, 480, np.random.default_rng(5))
    reply = running.probe.send_and_wait(running.images, bgr_image_msg(background, 400),
                                        running.emotions)
    assert list(reply.faces) == []
    assert len(reply.labels) > 0, "labels must be filled even without faces"


def test_compressed_input(running, scenes):
    from sensor_msgs.msg import CompressedImage
    probe = running.probe
    publisher = probe.publisher(CompressedImage, running.image_topic + "/compressed")
    probe.wait_matched(publisher, running.process)
    scene = scenes[1]
    reply = probe.send_and_wait(publisher, jpeg_msg(scene.image, 500), running.emotions)
    assert None not in match_boxes(scene.boxes, found_boxes(reply))
    _check_consistent(reply, reply.labels)


def _malformed_images(scene_image):
    from sensor_msgs.msg import Image
    good = bgr_image_msg(scene_image, 0)
    truncated = bgr_image_msg(scene_image, 0)
    truncated.data = array.array("B", bytes(truncated.data)[: len(truncated.data) // 2])
    unknown = bgr_image_msg(scene_image, 0)
    unknown.encoding = "bayer_xyz99"
    empty = Image(height=0, width=0, encoding="bgr8", step=0)
    bad_step = bgr_image_msg(scene_image, 0)
    bad_step.step = 7
    del good
    return {"truncated": truncated, "unknown encoding": unknown, "zero size": empty,
            "step too small": bad_step}


def test_malformed_messages_are_counted_and_skipped(running, scenes):
    from sensor_msgs.msg import CompressedImage
    probe = running.probe
    scene = scenes[2]
    corrupt = CompressedImage(format="jpeg")
    corrupt.data = array.array("B", b"\xff\xd8\xff\xe0 this is not a jpeg" * 10)
    compressed = probe.publisher(CompressedImage, running.image_topic + "/compressed")
    probe.wait_matched(compressed, running.process)
    bad = [(running.images, msg, what) for what, msg in _malformed_images(scene.image).items()]
    bad.append((compressed, corrupt, "corrupt jpeg"))

    def malformed_count():
        value = probe.last_diagnostics(node_name=running.name).get("messages_malformed")
        return None if value is None else int(value)

    probe.spin_until(lambda: malformed_count() is not None, 5.0, "diagnostics")
    before = malformed_count()
    for k, (publisher, msg, what) in enumerate(bad):
        publisher.publish(stamped(msg, 600 + k))
        probe.spin_until(lambda n=before + k + 1: (malformed_count() or 0) >= n, 10.0,
                         f"the node to count the {what} message as malformed")
        good = bgr_image_msg(scene.image, 650 + k)
        reply = probe.send_and_wait(running.images, good, running.emotions)
        assert len(reply.faces) == 3, f"after a {what} message the node found {reply.faces}"
    assert running.process.poll() is None, "fer_node died on malformed input"


def test_runtime_parameter_change_takes_effect(running, scenes):
    probe, scene = running.probe, scenes[3]
    ok = set_parameters(probe, running.name, {"pipeline.detector.max_faces": 1})
    assert ok[0].successful, ok[0].reason
    reply = probe.send_and_wait(running.images, bgr_image_msg(scene.image, 700),
                                running.emotions)
    assert len(reply.faces) == 1, f"max_faces=1 but {len(reply.faces)} faces published"
    ok = set_parameters(probe, running.name, {"pipeline.detector.max_faces": 10})
    assert ok[0].successful, ok[0].reason
    reply = probe.send_and_wait(running.images, bgr_image_msg(scene.image, 701),
                                running.emotions)
    assert len(reply.faces) == 3


@pytest.mark.parametrize("values,reason_has", [
    ({"pipeline.detector.score_threshold": 1.5}, "range"),
    ({"pipeline.classifier.backend": "torch"}, "read-only"),
    ({"diagnostics.warn_latency_ms": 5000.0}, "must not exceed"),
    ({"input.depth16": "weird"}, "not one of"),
])
def test_invalid_parameter_changes_are_rejected_with_a_reason(running, values, reason_has):
    result = set_parameters(running.probe, running.name, values)[0]
    assert not result.successful, f"{values} was accepted"
    assert reason_has in result.reason, f"unhelpful reason: {result.reason!r}"


def test_annotated_image_only_for_subscribers(running, scenes):
    from sensor_msgs.msg import Image
    probe = running.probe
    # Nobody subscribes yet: frames are processed but nothing is drawn.
    probe.send_and_wait(running.images, bgr_image_msg(scenes[4].image, 799), running.emotions)
    probe.spin_until(lambda: int(probe.last_diagnostics(node_name=running.name).get(
        "frames_processed", 0)) > 0, 10.0, "diagnostics")
    diag = probe.last_diagnostics(node_name=running.name)
    assert diag["annotated_published"] == "0", f"annotated without subscribers: {diag}"
    subscription = probe.subscribe(Image, running.annotated, depth=5)
    probe.spin_until(lambda: probe.node.count_publishers(running.annotated) > 0 and
                     _publisher_sees_subscriber(probe, running), 20.0,
                     "the node to see the ~/annotated subscriber")
    scene = scenes[4]
    sent = bgr_image_msg(scene.image, 800)
    running.images.publish(sent)
    annotated = probe.reply_to(running.annotated, sent.header)
    assert (annotated.encoding, annotated.height, annotated.width) == ("bgr8", 480, 640)
    drawn = np.frombuffer(bytes(annotated.data), np.uint8).reshape(480, 640, 3)
    box = scene.boxes[0]
    changed = np.any(drawn != scene.image, axis=2)
    assert changed[int(box.y) - 3:int(box.y + box.h) + 3,
                   int(box.x) - 3:int(box.x + box.w) + 3].sum() > box.w, \
        "no box drawn around the first face"
    probe.node.destroy_subscription(subscription)


def _publisher_sees_subscriber(probe, running) -> bool:
    infos = probe.node.get_subscriptions_info_by_topic(running.annotated)
    return len(infos) > 0


def test_diagnostics_report_rates_latency_and_backend(running, scenes):
    probe = running.probe
    for i in range(3):
        probe.send_and_wait(running.images, bgr_image_msg(scenes[i].image, 900 + i),
                            running.emotions)
    diag = probe.spin_until(
        lambda: (d := probe.last_diagnostics(node_name=running.name)) and
        int(d["frames_processed"]) >= 3 and d, 10.0, "diagnostics counting processed frames")
    for key in ("input_rate_hz", "processed_rate_hz", "frames_dropped", "latency_p50_ms",
                "latency_p95_ms", "latency_p99_ms", "processing_p50_ms", "backend"):
        assert key in diag, f"diagnostics lack {key}: {diag}"
    assert diag["backend"].startswith("onnxruntime")
    p50, p99 = float(diag["latency_p50_ms"]), float(diag["latency_p99_ms"])
    assert math.isfinite(p50) and 0 < p50 <= p99


def test_subscription_matches_reliable_publisher(running):
    from rclpy.qos import ReliabilityPolicy
    infos = running.probe.node.get_subscriptions_info_by_topic(running.image_topic)
    assert [i.qos_profile.reliability for i in infos] == [ReliabilityPolicy.RELIABLE]
    assert infos[0].qos_profile.depth in (0, 1)  # keep-last 1 (depth not always reported)
