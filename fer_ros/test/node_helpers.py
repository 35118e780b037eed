"""Helpers for the fer_node integration tests: start the installed node as a process, and a
probe node in the test process that publishes frames and collects what the node sends.

Every wait is a deadline loop that spins the probe (never a blind sleep).
"""
from __future__ import annotations

import array
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
NODE_EXE = REPO / "install" / "fer_ros" / "lib" / "fer_ros" / "fer_node"
# The installed params file: what `ros2 launch fer_ros fer.launch.py` passes by default.
PARAMS_FILE = REPO / "install" / "fer_ros" / "share" / "fer_ros" / "config" / "fer.yaml"
START_TIMEOUT_S = 60.0     # model loading + DDS discovery on a busy 2-core machine
REPLY_TIMEOUT_S = 20.0


def start_node(env: dict, *ros_args: str, namespace: str = "", image_topic: str = "",
               params_file: Path = PARAMS_FILE) -> subprocess.Popen:
    """Start the installed ``fer_node`` entry point the way the launch file does."""
    args = [str(NODE_EXE), "--ros-args", "--params-file", str(params_file)]
    if namespace:
        args += ["-r", f"__ns:={namespace}"]
    if image_topic:
        args += ["-r", f"image:={image_topic}"]
    args += list(ros_args)
    # Files, not pipes: a chatty node must never block on a full pipe nobody reads.
    log = tempfile.TemporaryFile("w+")
    process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    process.log_file = log
    return process


def node_output(process: subprocess.Popen) -> str:
    """Everything the node printed so far (stdout and stderr)."""
    process.log_file.seek(0)
    return process.log_file.read()


def stop_node(process: subprocess.Popen, sig: int = signal.SIGINT,
              timeout: float = 20.0) -> tuple[int, str]:
    """Send ``sig`` and wait; returns (exit code, output)."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"fer_node did not exit within {timeout} s of signal {sig}; "
                             f"output:\n{node_output(process)[-3000:]}")
    return process.returncode, node_output(process)


def stamped(msg, index: int, frame_id: str = "test_camera"):
    """Give ``msg`` a unique header so replies can be matched to the frame."""
    msg.header.frame_id = frame_id
    msg.header.stamp.sec = 1_700_000_000 + index
    msg.header.stamp.nanosec = 1000 * index + 7
    return msg


def bgr_image_msg(image: np.ndarray, index: int, encoding: str = "bgr8"):
    """A sensor_msgs/Image of a BGR frame in ``encoding`` (bgr8, rgb8, mono8)."""
    import cv2
    from sensor_msgs.msg import Image
    if encoding == "rgb8":
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif encoding == "mono8":
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    image = np.ascontiguousarray(image)
    msg = Image(height=image.shape[0], width=image.shape[1], encoding=encoding,
                is_bigendian=0, step=int(image.strides[0]))
    msg.data = array.array("B", image.tobytes())
    return stamped(msg, index)


def jpeg_msg(image: np.ndarray, index: int):
    import cv2
    from sensor_msgs.msg import CompressedImage
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    msg = CompressedImage(format="jpeg")
    msg.data = array.array("B", encoded.tobytes())
    return stamped(msg, index)


def stamp_key(header) -> tuple[int, int]:
    return (header.stamp.sec, header.stamp.nanosec)


class Probe:
    """A test-side node: publishes images, records emotions / diagnostics / annotated."""

    def __init__(self, context, name: str = "fer_test_probe") -> None:
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node
        self.node = Node(name, context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.received: dict[str, list] = {}

    def publisher(self, msg_type, topic: str, reliable: bool = True, depth: int = 10):
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        qos = QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE if reliable
                         else ReliabilityPolicy.BEST_EFFORT)
        return self.node.create_publisher(msg_type, topic, qos)

    def subscribe(self, msg_type, topic: str, depth: int = 100):
        self.received.setdefault(topic, [])
        return self.node.create_subscription(
            msg_type, topic, lambda m, t=topic: self.received[t].append(m), depth)

    def spin_until(self, predicate, timeout: float, what: str):
        """Spin until ``predicate()`` is truthy; returns its value or fails naming ``what``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            self.executor.spin_once(timeout_sec=0.05)
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")

    def wait_matched(self, publisher, node_process=None, timeout: float = START_TIMEOUT_S):
        """Wait until the node's subscription matched ``publisher`` (node started, QoS set)."""
        def matched():
            if node_process is not None and node_process.poll() is not None:
                raise AssertionError(f"fer_node exited with {node_process.returncode}: "
                                     f"{node_output(node_process)[-3000:]}")
            return publisher.get_subscription_count() > 0
        self.spin_until(matched, timeout, f"fer_node to subscribe to {publisher.topic_name}")

    def reply_to(self, topic: str, header, timeout: float = REPLY_TIMEOUT_S):
        """The message on ``topic`` whose header stamp equals ``header``'s."""
        key = stamp_key(header)
        return self.spin_until(
            lambda: next((m for m in self.received.get(topic, [])
                          if stamp_key(m.header) == key), None),
            timeout, f"a message on {topic} with stamp {key}")

    def send_and_wait(self, publisher, msg, topic: str, timeout: float = REPLY_TIMEOUT_S):
        publisher.publish(msg)
        return self.reply_to(topic, msg.header, timeout)

    def last_diagnostics(self, topic: str = "/diagnostics", node_name: str = "") -> dict:
        """key -> value of the newest diagnostic status whose name ends with ``node_name``."""
        for array_msg in reversed(self.received.get(topic, [])):
            for status in array_msg.status:
                if status.name.endswith(node_name):
                    values = {kv.key: kv.value for kv in status.values}
                    values["_level"] = status.level[0] if isinstance(status.level, bytes) \
                        else int(status.level)
                    values["_message"] = status.message
                    return values
        return {}

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


def set_parameters(probe: Probe, node_name: str, values: dict, timeout: float = 10.0):
    """Call <node_name>/set_parameters; returns the list of SetParametersResult."""
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter
    client = probe.node.create_client(SetParameters, f"{node_name}/set_parameters")
    try:
        probe.spin_until(client.service_is_ready, timeout, f"{node_name}/set_parameters")
        request = SetParameters.Request(
            parameters=[Parameter(k, value=v).to_parameter_msg() for k, v in values.items()])
        future = client.call_async(request)
        probe.spin_until(future.done, timeout, f"the reply of {node_name}/set_parameters")
        return future.result().results
    finally:
        probe.node.destroy_client(client)


def node_ready(probe: Probe, process: subprocess.Popen, image_topic: str, msg_type=None,
               reliable: bool = True):
    """A publisher on ``image_topic`` that the node has subscribed to."""
    if msg_type is None:
        from sensor_msgs.msg import Image as msg_type  # noqa: N813
    publisher = probe.publisher(msg_type, image_topic, reliable=reliable)
    probe.wait_matched(publisher, process)
    return publisher


def require_runtime() -> None:
    """Skip (saying why) unless the built node, the default bundle and ../shared exist;
    under CI (CI set) a missing part is a failure, since CI must run these tests."""
    import os

    import pytest
    from faces import shared_available
    from fer_ros.core.bundle import default_bundle_path
    missing = None
    if not NODE_EXE.is_file():
        missing = f"{NODE_EXE} missing: run `make setup` (colcon build) first"
    elif not (default_bundle_path() / "model.json").is_file():
        missing = (f"no default model bundle at {default_bundle_path()}: export one with "
                   "`fer-ros export`")
    elif not shared_available():
        missing = ("shared datasets not found (FER2013 faces compose the test frames): set "
                   "FER_ROS_SHARED or put the shared folder beside the repository")
    if missing:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(missing)


def found_boxes(msg) -> list:
    """The ROIs of an EmotionArray as core Boxes."""
    from fer_ros.core.types import Box
    return [Box(f.roi.x_offset, f.roi.y_offset, f.roi.width, f.roi.height) for f in msg.faces]
