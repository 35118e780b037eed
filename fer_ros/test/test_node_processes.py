"""fer_node start-up, shutdown and multi-camera behaviour, each with its own processes.

Nodes are started with the command line the launch file produces:
``fer_node --ros-args --params-file <installed fer.yaml> -r __ns:=/<cam> -r image:=<topic>``.
"""
from __future__ import annotations

import signal
import uuid

import pytest

from faces import FER2013_LABELS, compose_frame, fer2013_faces, match_boxes
from node_helpers import (NODE_EXE, PARAMS_FILE, Probe, bgr_image_msg, found_boxes, node_output,
                          node_ready, require_runtime, start_node, stop_node)

pytestmark = [pytest.mark.ros, pytest.mark.slow]

rclpy = pytest.importorskip("rclpy", reason="rclpy not importable: source install/setup.bash")


@pytest.fixture()
def probe():
    context = rclpy.Context()
    rclpy.init(context=context)
    probe = Probe(context, name=f"probe_{uuid.uuid4().hex[:6]}")
    yield probe
    probe.close()
    rclpy.try_shutdown(context=context)


def _namespace(tag: str) -> str:
    return f"/{tag}_{uuid.uuid4().hex[:8]}"


@pytest.mark.shared_data
def test_two_namespaced_nodes_side_by_side(probe, ros_env):
    """One node per camera: each answers on its own namespace with its own camera's faces.
    Camera b publishes best effort; its node must match that (auto QoS). Its frames are
    small mono8 ones (43 kB): large images lose fragments under best effort (see docs)."""
    from fer_ros_msgs.msg import EmotionArray
    from rclpy.qos import ReliabilityPolicy
    require_runtime()
    assert PARAMS_FILE.is_file(), f"{PARAMS_FILE} not installed: run `make setup`"
    images, labels = fer2013_faces("PublicTest", limit=12)
    cams = {}
    from sensor_msgs.msg import Image
    setups = (("cam_a", 3, True, (640, 480), (120, 180), "bgr8"),
              ("cam_b", 1, False, (240, 180), 110, "mono8"))
    for tag, n_faces, reliable, size, face_px, encoding in setups:
        ns = _namespace(tag)
        topic = f"{ns}/image_raw"
        scene = compose_frame(images[:n_faces], [FER2013_LABELS[k] for k in labels[:n_faces]],
                              frame_size=size, face_px=face_px, seed=n_faces)
        scene.encoding = encoding
        # The publisher exists before the node starts, as a camera driver would.
        publisher = probe.publisher(Image, topic, reliable=reliable)
        process = start_node(ros_env, namespace=ns, image_topic=topic)
        probe.subscribe(EmotionArray, f"{ns}/emotions")
        cams[tag] = (ns, topic, scene, publisher, process, reliable)
    try:
        for tag, (ns, topic, scene, publisher, process, reliable) in cams.items():
            probe.wait_matched(publisher, process)
            policy = [i.qos_profile.reliability
                      for i in probe.node.get_subscriptions_info_by_topic(topic)]
            want = ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
            assert policy == [want], f"{tag}: subscription {policy}, publisher {want}"
        for k, (tag, (ns, topic, scene, publisher, process, reliable)) in \
                enumerate(cams.items()):
            # Best effort may lose a frame: resend until one answer arrives.
            sent = bgr_image_msg(scene.image, 10 + k, scene.encoding)
            reply = None
            for _ in range(5):
                publisher.publish(sent)
                try:
                    reply = probe.reply_to(f"{ns}/emotions", sent.header, timeout=6.0)
                    break
                except AssertionError:
                    continue
            assert reply is not None, f"{tag}: no EmotionArray on {ns}/emotions"
            assert None not in match_boxes(scene.boxes, found_boxes(reply)), \
                f"{tag}: expected its {len(scene.boxes)} faces, got {found_boxes(reply)}"
            assert len(reply.faces) == len(scene.boxes)
    finally:
        for tag, (ns, topic, scene, publisher, process, reliable) in cams.items():
            code, output = stop_node(process)
            assert code == 0, f"{tag} exited {code}:\n{output[-2000:]}"


@pytest.mark.shared_data
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_ends_node_cleanly_even_mid_frame(probe, ros_env, sig):
    require_runtime()
    images, labels = fer2013_faces("PublicTest", limit=3)
    scene = compose_frame(images, [FER2013_LABELS[k] for k in labels], seed=3)
    ns = _namespace("sig")
    process = start_node(ros_env, namespace=ns, image_topic=f"{ns}/image")
    publisher = node_ready(probe, process, f"{ns}/image")
    for i in range(3):  # keep the worker busy while the signal arrives
        publisher.publish(bgr_image_msg(scene.image, i))
    code, output = stop_node(process, sig)
    assert code == 0, f"exit code {code} after {sig.name}:\n{output[-2000:]}"
    assert "Traceback" not in output, f"traceback on {sig.name}:\n{output[-2000:]}"
    assert "processing failed" not in output, output[-2000:]


@pytest.mark.parametrize("args,needle", [
    (["-p", "pipeline.classifier.bundle:=/nonexistent/bundle"], "/nonexistent/bundle"),
    (["-p", "pipeline.classifier.backend:=tensorrt"], "tensorrt"),
    (["-p", "pipeline.detector.score_threshold:=3.0"], "score_threshold"),
    (["-p", "pipeline.detector.model_path:=/nonexistent/yunet.onnx"], "yunet.onnx"),
])
def test_bad_setup_stops_with_one_clear_error(ros_env, args, needle):
    if not NODE_EXE.is_file():
        pytest.skip(f"{NODE_EXE} missing: run `make setup` first")
    process = start_node(ros_env, *args)
    try:
        process.wait(timeout=60)
    except Exception:
        process.kill()
        raise
    output = node_output(process)
    assert process.returncode != 0, f"started despite {args}:\n{output[-2000:]}"
    assert "Traceback" not in output, output[-3000:]
    errors = [line for line in output.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and needle in errors[0], f"want one error naming {needle}: {output}"


def test_reliability_override_subscribes_without_publishers(probe, ros_env):
    """input.reliability: best_effort subscribes at once, without waiting for a publisher."""
    from rclpy.qos import ReliabilityPolicy
    require_runtime()
    ns = _namespace("qos")
    topic = f"{ns}/image"
    process = start_node(ros_env, "-p", "input.reliability:=best_effort", namespace=ns,
                         image_topic=topic)
    try:
        infos = probe.spin_until(lambda: probe.node.get_subscriptions_info_by_topic(topic),
                                 60.0, f"fer_node to subscribe to {topic}")
        assert [i.qos_profile.reliability for i in infos] == [ReliabilityPolicy.BEST_EFFORT]
    finally:
        code, output = stop_node(process)
        assert code == 0, output[-2000:]


def test_fastdds_large_image_profile_delivers_best_effort_frames(ros_env):
    """The shipped Fast DDS profile loads without XML errors and carries 640x480 frames to a
    best-effort reader in another process (without it about half are lost: docs/node.md)."""
    import json
    import subprocess
    import sys
    from node_helpers import REPO
    profile = REPO / "fer_ros" / "config" / "fastdds_large_images.xml"
    env = dict(ros_env, FASTDDS_DEFAULT_PROFILES_FILE=str(profile))
    run = subprocess.run([sys.executable, "-m", "fer_ros.tools.delivery_check", "--frames", "20",
                          "--rate", "7", "--subscriber", "best_effort"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "XMLPARSER" not in run.stdout + run.stderr, (run.stdout + run.stderr)[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["frames_received"] >= 16, f"best effort with the profile: {result}"
