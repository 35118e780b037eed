"""The live view's ROS side: camera images and the node's /diagnostics into a LiveView.

A small rclpy node with its own context, spun in a background thread, so the web server keeps
the main thread and its own Ctrl-C handling. Images are decoded by fer_ros.ros.convert (the
node's decoder); the subscription's reliability matches the camera's publishers like the
node's does (fer_ros.ros.qos), so large reliable images are not lost to best effort.
"""
from __future__ import annotations

import threading

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import CompressedImage, Image

from fer_ros.core.errors import InputError
from fer_ros.ros import qos
from fer_ros.ros.convert import compressed_to_bgr8, image_to_bgr8

#: DiagnosticStatus names of fer_node start with this (fer_ros.ros.node)
NODE_STATUS_PREFIX = "fer_ros:"
_LEVELS = {0: "OK", 1: "WARN", 2: "ERROR", 3: "STALE"}


class CameraSource(Node):
    def __init__(self, live, topic: str, context) -> None:
        super().__init__("fer_serve_viewer", context=context)
        self.live, self.topic = live, topic
        self._compressed = topic.rstrip("/").endswith("/compressed")
        self._subscription = None
        self._qos_timer = self.create_timer(0.5, self._subscribe_when_published)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def _subscribe_when_published(self) -> None:
        reliability = qos.choose_reliability("auto", self, self.topic)
        if reliability is None:
            return  # no camera publisher yet: its QoS decides ours
        msg_type = CompressedImage if self._compressed else Image
        self._subscription = self.create_subscription(
            msg_type, self.topic, self._on_image, qos.image_qos(reliability, 1))
        self._qos_timer.cancel()
        self.get_logger().info(f"watching {self.topic} ({qos.policy_name(reliability)})")

    def _on_image(self, msg) -> None:
        try:
            image = compressed_to_bgr8(msg) if self._compressed else image_to_bgr8(msg)
        except InputError as exc:
            self.live.source_error(str(exc))
            return
        self.live.offer(image)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        statuses = [_status_dict(s) for s in msg.status if s.name.startswith(NODE_STATUS_PREFIX)]
        if statuses:
            self.live.diagnostics = statuses


def _status_dict(status) -> dict:
    level = status.level[0] if isinstance(status.level, (bytes, bytearray)) else int(status.level)
    return {"name": status.name, "level": _LEVELS.get(level, str(level)),
            "message": status.message, "values": {kv.key: kv.value for kv in status.values}}


class RosThread:
    """Runs a CameraSource in its own rclpy context on a daemon thread."""

    def __init__(self, live, topic: str) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context, signal_handler_options=SignalHandlerOptions.NO)
        self.node = CameraSource(live, topic, self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self._spin, name="fer_serve_ros", daemon=True)
        self.thread.start()

    def _spin(self) -> None:
        try:
            self.executor.spin()
        except ExternalShutdownException:
            pass

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
        self.thread.join(timeout=2.0)
