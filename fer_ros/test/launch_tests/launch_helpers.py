"""Shared parts of the launch_pytest tests: the installed fer.launch.py included through
FindPackageShare (the way a robot's bringup includes it), a recorder of what the launched
processes print and how they end, and the real `ros2` command line.

These tests run in their own pytest process (scripts/test.sh): importing `launch` switches
Python logging to launch's logger class, which stops propagation that caplog tests rely on.

    require_tools()                          # at module top, before importing launch
    recorder = Recorder()
    description = fer_launch(recorder, namespace="cam1")
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager

import pytest

TOOL_MODULES = ("launch", "launch_ros", "launch_pytest", "launch_testing", "ros2cli")
CLI_TIMEOUT_S = 60.0


def missing_tools() -> str:
    """Why the real ROS tools cannot run here, or "" when they can."""
    absent = [m for m in TOOL_MODULES if importlib.util.find_spec(m) is None]
    if absent:
        return (f"ROS tools not installed ({', '.join(absent)}): a ROS 2 install has them; "
                "here `make setup` installs them from <shared>/ros/wheels (FER_ROS_SHARED)")
    if shutil.which("ros2") is None:
        return "the `ros2` command is not on PATH: source scripts/env.sh after make setup"
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    try:
        share = get_package_share_directory("fer_ros")
    except PackageNotFoundError:
        return ("fer_ros is not in the ament index (AMENT_PREFIX_PATH): run make setup and "
                "source install/setup.bash; colcon must list it as ros.ament_python")
    if not os.path.isfile(os.path.join(share, "launch", "fer.launch.py")):
        return f"{share}/launch/fer.launch.py is not installed: re-run make setup"
    return ""


def require_tools() -> None:
    """Skip the calling module (saying why) without the tools; under CI, fail instead."""
    reason = missing_tools()
    if not reason:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the launch tests: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


class Recorder:
    """Output lines and exit codes of the launched processes, filled by launch event
    handlers (in the launch thread) and read by the tests (in theirs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: list[str] = []
        # process name without launch's per-process counter (fer_node-3 -> fer_node) -> exit code
        self.exits: dict[str, int] = {}

    def actions(self) -> list:
        from launch.actions import RegisterEventHandler
        from launch.event_handlers import OnProcessExit, OnProcessIO
        return [RegisterEventHandler(OnProcessIO(on_stdout=self._on_output,
                                                 on_stderr=self._on_output)),
                RegisterEventHandler(OnProcessExit(on_exit=self._on_exit))]

    def _on_output(self, event) -> None:
        text = event.text.decode(errors="replace")
        with self._lock:
            self._lines += [f"[{event.action.name}] {line}" for line in text.splitlines()]

    def _on_exit(self, event, _context) -> None:
        with self._lock:
            self.exits[event.action.name.rsplit("-", 1)[0]] = event.returncode

    def output(self) -> str:
        with self._lock:
            return "\n".join(self._lines)

    def wait_exit(self, timeout: float) -> dict[str, int]:
        """Wait for the first launched process to end; its name -> exit code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.exits:
                    return dict(self.exits)
            time.sleep(0.1)
        raise AssertionError(f"no launched process ended within {timeout:g} s; output:\n"
                             f"{self.output()[-3000:]}")


def fer_launch(recorder: Recorder, **arguments: str):
    """LaunchDescription: the installed fer.launch.py with ``arguments``, then ReadyToTest."""
    from launch import LaunchDescription
    from launch.actions import IncludeLaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource
    from launch.substitutions import PathJoinSubstitution
    from launch_pytest.actions import ReadyToTest
    from launch_ros.substitutions import FindPackageShare
    launch_file = PathJoinSubstitution([FindPackageShare("fer_ros"), "launch", "fer.launch.py"])
    include = IncludeLaunchDescription(PythonLaunchDescriptionSource(launch_file),
                                       launch_arguments=list(arguments.items()))
    return LaunchDescription([*recorder.actions(), include, ReadyToTest()])


def ros2(*args: str, timeout: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess:
    """Run the real `ros2` command line (same isolated ROS domain as the test)."""
    done = subprocess.run(["ros2", *args], env=dict(os.environ), text=True,
                          capture_output=True, timeout=timeout)
    return done


def ros2_ok(*args: str, timeout: float = CLI_TIMEOUT_S) -> str:
    """stdout + stderr of a `ros2` command that must exit 0."""
    done = ros2(*args, timeout=timeout)
    assert done.returncode == 0, (f"`ros2 {' '.join(args)}` exited {done.returncode}:\n"
                                  f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout + done.stderr


def ros2_until(predicate, *args: str, timeout: float = CLI_TIMEOUT_S) -> str:
    """Repeat a `ros2` command until ``predicate(stdout)``; DDS discovery in a fresh
    process takes a few seconds, so a single early call may see an empty graph."""
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        done = ros2(*args, timeout=timeout)
        out = done.stdout
        if done.returncode == 0 and predicate(out):
            return out
        time.sleep(0.5)
    raise AssertionError(f"`ros2 {' '.join(args)}` never gave the expected output within "
                         f"{timeout:g} s; last output:\n{out[-2000:]}")


def no_traceback(text: str, what: str) -> None:
    assert "Traceback" not in text, f"{what} printed a traceback:\n{text[-3000:]}"


def face_scenes(count: int = 4):
    """Camera-sized frames, each with 3 real FER2013 faces (PublicTest) at known boxes."""
    from faces import FER2013_LABELS, compose_frame, fer2013_faces
    images, labels = fer2013_faces("PublicTest", limit=3 * count)
    return [compose_frame(images[3 * i:3 * i + 3],
                          [FER2013_LABELS[k] for k in labels[3 * i:3 * i + 3]], seed=40 + i)
            for i in range(count)]


def wait_ready(probe, recorder: Recorder, topic: str, msg_type=None, timeout: float = 90.0):
    """A reliable publisher on ``topic`` once the launched node subscribed to it; fails at
    once, with the node's output, if the node ended instead."""
    if msg_type is None:
        from sensor_msgs.msg import Image as msg_type  # noqa: N813
    publisher = probe.publisher(msg_type, topic)

    def matched():
        if recorder.exits:
            raise AssertionError(f"the launched node ended ({recorder.exits}):\n"
                                 f"{recorder.output()[-3000:]}")
        return publisher.get_subscription_count() > 0
    probe.spin_until(matched, timeout, f"the launched fer_node to subscribe to {topic}")
    return publisher


def check_reply(reply, sent, scene, labels) -> None:
    """An EmotionArray answering ``sent``: same header, the bundle's labels, every true face
    found, and per-face fields consistent with the scores."""
    import numpy as np
    from faces import match_boxes
    from node_helpers import found_boxes
    assert reply.header == sent.header, "the source image header must be copied unchanged"
    assert tuple(reply.labels) == tuple(labels), f"labels {list(reply.labels)} != {labels}"
    found = found_boxes(reply)
    assert None not in match_boxes(scene.boxes, found), \
        f"faces at {scene.boxes} not all found, got {found}"
    for face in reply.faces:
        scores = np.asarray(face.scores)
        assert len(scores) == len(labels), f"{len(scores)} scores for {len(labels)} labels"
        assert face.label == labels[int(np.argmax(scores))], "label is not the arg-max"
        assert abs(face.confidence - float(scores.max())) < 1e-6, "confidence != max(scores)"
        assert abs(float(scores.sum()) - 1.0) < 1e-3, f"scores sum to {scores.sum()}"
        assert 0.0 <= face.detector_score <= 1.0


@contextmanager
def probe_session(name: str, subscriptions: dict):
    """A node_helpers.Probe in its own rclpy context, subscribed to ``{topic: msg_type}``."""
    import rclpy
    from node_helpers import Probe
    context = rclpy.Context()
    rclpy.init(context=context)
    probe = Probe(context, name)
    for topic, msg_type in subscriptions.items():
        probe.subscribe(msg_type, topic, depth=10)
    try:
        yield probe
    finally:
        probe.close()
        rclpy.try_shutdown(context=context)
