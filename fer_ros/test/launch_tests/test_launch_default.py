"""`fer.launch.py` with its default arguments, run by the real launch system (launch_pytest),
included from the ament index through FindPackageShare: EmotionArrays of real faces over
DDS, the real `ros2` command line against the launched node, tracking switched off at run
time, and a clean shutdown (exit 0, no traceback).
"""
from __future__ import annotations

import subprocess
import time

import pytest

from launch_helpers import require_tools

require_tools()

import launch_pytest  # noqa: E402

from launch_helpers import (Recorder, check_reply, face_scenes, fer_launch,  # noqa: E402
                            no_traceback, probe_session, ros2_ok, ros2_until, wait_ready)
from node_helpers import bgr_image_msg, require_runtime  # noqa: E402
from fer_ros.core.bundle import load_bundle  # noqa: E402

pytestmark = [pytest.mark.ros, pytest.mark.shared_data, pytest.mark.slow]

RECORDER = Recorder()
NODE = "/fer_node"                  # defaults: no namespace, node name fer_node
IMAGE, EMOTIONS, ANNOTATED = "/image", "/emotions", "/fer_node/annotated"
# Without the daemon each command discovers the graph itself: give it time to find the node.
# get/set wait (--timeout) only as long as the node takes to appear.
NO_DAEMON = ("--no-daemon", "--spin-time", "1", "--timeout", "20")


@launch_pytest.fixture(scope="module")
def default_launch():
    require_runtime()
    return fer_launch(RECORDER)


@pytest.fixture(scope="module")
def probe():
    from fer_ros_msgs.msg import EmotionArray
    from sensor_msgs.msg import Image
    with probe_session("fer_launch_default_probe",
                       {EMOTIONS: EmotionArray, ANNOTATED: Image}) as probe:
        yield probe


@pytest.fixture(scope="module")
def scenes():
    return face_scenes(4)


@pytest.fixture(scope="module")
def labels(default_bundle):
    return default_bundle.labels


@pytest.mark.launch(fixture=default_launch)
def test_default_launch_publishes_emotions_and_annotated(probe, scenes, labels,
                                                         default_bundle):
    from fer_ros_msgs.msg import Emotion
    images = wait_ready(probe, RECORDER, IMAGE)
    for i, scene in enumerate(scenes):
        sent = bgr_image_msg(scene.image, i)
        reply = probe.send_and_wait(images, sent, EMOTIONS)
        check_reply(reply, sent, scene, labels)
        assert (reply.model_name, reply.model_version) == (default_bundle.name,
                                                           default_bundle.version)
        ids = [face.face_id for face in reply.faces]
        assert Emotion.FACE_ID_UNTRACKED not in ids, f"tracking is on by default: ids {ids}"
    # annotate.enabled defaults to true: ~/annotated carries the frame with boxes drawn.
    probe.spin_until(lambda: probe.received[ANNOTATED], 20.0, f"an image on {ANNOTATED}")
    drawn = probe.received[ANNOTATED][-1]
    assert (drawn.width, drawn.height, drawn.encoding) == (640, 480, "bgr8")


@pytest.mark.launch(fixture=default_launch)
def test_ros2_node_and_param_commands(default_bundle):
    from fer_ros.ros.params import PARAMETERS, SPECS
    ros2_until(lambda out: NODE in out.split(), "node", "list", "--no-daemon",
               "--spin-time", "3")
    # Every declared parameter is listed (retried: a fresh process may not see the node yet).
    ros2_until(lambda out: {spec.name for spec in PARAMETERS} <= set(out.split()),
               "param", "list", "--no-daemon", "--spin-time", "3", NODE)
    name = "pipeline.detector.score_threshold"
    got = ros2_ok("param", "get", *NO_DAEMON, NODE, name)
    assert got.strip() == f"Double value is: {SPECS[name].default}", got
    assert "Set parameter successful" in ros2_ok("param", "set", *NO_DAEMON, NODE, name,
                                                  "0.55")
    assert ros2_ok("param", "get", *NO_DAEMON, NODE, name).strip() == \
        "Double value is: 0.55"
    # Refusals come back with the node's reason; the node keeps running.
    refused = ros2_ok("param", "set", *NO_DAEMON, NODE, "pipeline.classifier.backend",
                      "torch")
    assert "Set parameter successful" not in refused, refused
    assert "read-only" in refused.lower() or "restart" in refused, refused
    ros2_ok("param", "set", *NO_DAEMON, NODE, name, str(SPECS[name].default))
    assert not RECORDER.exits, RECORDER.output()[-3000:]


@pytest.mark.launch(fixture=default_launch)
def test_ros2_topic_echo_once(probe, scenes):
    images = wait_ready(probe, RECORDER, IMAGE)
    echo = subprocess.Popen(["ros2", "topic", "echo", "--once", "--no-daemon", EMOTIONS,
                             "fer_ros_msgs/msg/EmotionArray"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, i = time.monotonic() + 60.0, 0
        while echo.poll() is None and time.monotonic() < deadline:
            images.publish(bgr_image_msg(scenes[i % len(scenes)].image, 100 + i))
            probe.executor.spin_once(timeout_sec=0.3)  # one frame per 0.3 s until it prints
            i += 1
    finally:
        if echo.poll() is None:
            echo.kill()
        out = echo.communicate()[0]
    assert echo.returncode == 0, f"`ros2 topic echo --once` exited {echo.returncode}: {out}"
    for field in (f"model_name: {load_bundle(None).name}", "labels:", "faces:", "face_id:",
                  "label:", "scores:"):
        assert field in out, f"`ros2 topic echo --once {EMOTIONS}` lacks {field!r}:\n{out}"


@pytest.mark.launch(fixture=default_launch)
def test_tracker_off_at_runtime_keeps_publishing_untracked_ids(probe, scenes, labels):
    from fer_ros_msgs.msg import Emotion
    images = wait_ready(probe, RECORDER, IMAGE)
    out = ros2_ok("param", "set", *NO_DAEMON, NODE, "pipeline.tracker.enabled", "false")
    assert "Set parameter successful" in out, out
    try:
        for i, scene in enumerate(scenes):
            # stamps no other test of this module uses: the probe keeps every reply, and the
            # topic-echo test publishes 100, 101, ... for as long as `ros2` takes to start
            sent = bgr_image_msg(scene.image, 100_000 + i)
            reply = probe.send_and_wait(images, sent, EMOTIONS)
            check_reply(reply, sent, scene, labels)
            ids = {face.face_id for face in reply.faces}
            same = [m for m in probe.received[EMOTIONS] if m.header == sent.header]
            assert ids == {Emotion.FACE_ID_UNTRACKED}, (
                f"tracker off: every face_id must be FACE_ID_UNTRACKED, got {ids} "
                f"({len(same)} replies with this stamp); node output:\n"
                f"{RECORDER.output()[-2000:]}")
    finally:
        ros2_ok("param", "set", *NO_DAEMON, NODE, "pipeline.tracker.enabled", "true")
    assert "processing failed" not in RECORDER.output(), RECORDER.output()[-3000:]


@pytest.mark.launch(fixture=default_launch, shutdown=True)
def test_shutdown_is_clean():
    output = RECORDER.output()
    assert RECORDER.exits == {"fer_node": 0}, \
        f"fer_node must exit 0 when the launch shuts down, got {RECORDER.exits}:\n{output}"
    no_traceback(output, "fer_node")
    assert "processing failed" not in output, output[-3000:]
