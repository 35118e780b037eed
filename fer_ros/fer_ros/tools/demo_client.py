"""The ROS side of ``python -m fer_ros.tools.demo``: a camera publisher and an HRI-style listener."""
from __future__ import annotations

import json
import os
import time

import cv2
import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from fer_ros_msgs.msg import EmotionArray
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from fer_ros.core.labels import canonical_label
from fer_ros.tools.demo_scene import true_label_at
from fer_ros.ros.convert import array_to_image, image_to_array


def _key(header) -> tuple[int, int]:
    return header.stamp.sec, header.stamp.nanosec


class DemoClient(Node):
    def __init__(self, args, stream) -> None:
        super().__init__("fer_demo")
        self.args, self.stream = args, stream
        base = args.node.rsplit("/", 1)[0]
        reliable = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        self.camera = self.create_publisher(Image, args.image_topic, reliable)
        self.create_subscription(EmotionArray, f"{base}/emotions", self._on_emotions, 50)
        self.create_subscription(Image, f"{args.node}/annotated", self._on_annotated, 5)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        self.sent: dict[tuple[int, int], tuple[int, list, float]] = {}
        self.latencies_ms: list[float] = []
        self.replies = self.faces = self.correct = self.pngs = 0
        self.diagnostics: dict[str, str] = {}
        self.video = None
        self.start = time.monotonic()

    # ----- callbacks --------------------------------------------------------------------

    def _on_emotions(self, msg: EmotionArray) -> None:
        sent = self.sent.get(_key(msg.header))
        if sent is None:
            return
        index, truth, sent_at = sent
        self.replies += 1
        self.latencies_ms.append((time.monotonic() - sent_at) * 1000.0)
        t = time.monotonic() - self.start
        parts = []
        for face in sorted(msg.faces, key=lambda f: f.face_id):
            true = true_label_at(truth, face.roi)
            self.faces += 1
            # by meaning, not spelling: a FER+ bundle says "happiness" for FER2013's "happy"
            self.correct += canonical_label(face.label) == canonical_label(true)
            parts.append(f"face {face.face_id:2d} {face.label:<8s} {face.confidence:4.2f} "
                         f"(shown {true:<8s})")
        print(f"t={t:6.2f}s frame {index:3d} | " + (" | ".join(parts) or "no face"),
              flush=True)

    def _on_annotated(self, msg: Image) -> None:
        sent = self.sent.get(_key(msg.header))
        image = image_to_array(msg)
        if sent is not None:
            cv2.imwrite(str(self.args.out / f"annotated_{sent[0]:04d}.png"), image)
            self.pngs += 1
        if self.video is None:
            self.video = cv2.VideoWriter(str(self.args.out / "demo.mp4"),
                                         cv2.VideoWriter_fourcc(*"mp4v"), self.args.rate,
                                         (msg.width, msg.height))
        self.video.write(image)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.endswith(self.args.node):
                self.diagnostics = {kv.key: kv.value for kv in status.values}
                self.diagnostics["status"] = status.message

    # ----- run --------------------------------------------------------------------------

    def _spin_for(self, seconds: float) -> None:
        import rclpy
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=max(0.0, min(0.02, deadline - time.monotonic())))

    def _wait_for_node(self) -> bool:
        import rclpy
        deadline = time.monotonic() + self.args.timeout
        while time.monotonic() < deadline:
            if self.camera.get_subscription_count() > 0 and \
                    self.count_subscribers(self.camera.topic_name) > 0:
                return True
            rclpy.spin_once(self, timeout_sec=0.1)
        return False

    def run(self) -> int:
        print(f"[demo] waiting for fer_node on {self.args.image_topic} ...", flush=True)
        if not self._wait_for_node():
            print(f"[demo] error: fer_node did not subscribe to {self.args.image_topic} within "
                  f"{self.args.timeout:g} s; see its log above", flush=True)
            return 1
        self._spin_for(1.0)  # let ~/annotated match too, so the first frames are drawn
        print(f"[demo] sending {self.args.frames} frames at {self.args.rate:g} Hz "
              "(3 people, expressions change every 2.5 s)", flush=True)
        self.start = time.monotonic()
        period = 1.0 / self.args.rate
        for index in range(self.args.frames):
            image, truth = self.stream.frame(index)
            msg = array_to_image(image)
            msg.header.frame_id = "demo_camera"
            msg.header.stamp = self.get_clock().now().to_msg()
            self.sent[_key(msg.header)] = (index, truth, time.monotonic())
            self.camera.publish(msg)
            self._spin_for(self.start + (index + 1) * period - time.monotonic())
        self._spin_for(3.0)  # the last replies and one more diagnostics message
        return self.summary()

    def summary(self) -> int:
        lat = np.percentile(self.latencies_ms, [50, 95]) if self.latencies_ms else (0, 0)
        accuracy = self.correct / self.faces if self.faces else 0.0
        d = self.diagnostics
        print(f"[demo] frames sent {len(self.sent)}, EmotionArray received {self.replies} "
              f"(the rest were dropped to stay fresh), faces {self.faces}, "
              f"label = shown expression {self.correct}/{self.faces} ({accuracy:.0%})")
        print(f"[demo] send -> receive latency p50 {lat[0]:.0f} ms, p95 {lat[1]:.0f} ms; "
              f"node diagnostics: {d.get('status', '?')}, backend {d.get('backend', '?')}, "
              f"processed {d.get('frames_processed', '?')}, dropped "
              f"{d.get('frames_dropped', '?')}, latency p95 {d.get('latency_p95_ms', '?')} ms, "
              f"pipeline p50 {d.get('processing_p50_ms', '?')} ms")
        print(f"[demo] annotated frames: {self.pngs} PNG files and demo.mp4 in {self.args.out}")
        summary = {"frames_sent": len(self.sent), "emotion_arrays_received": self.replies,
                   "faces": self.faces, "label_equals_shown": self.correct,
                   "send_to_receive_ms": {"p50": float(lat[0]), "p95": float(lat[1])},
                   "rate_hz": self.args.rate, "node_diagnostics": d,
                   "fastdds_profile": os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE", "")}
        (self.args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if self.replies == 0 or self.faces == 0:
            print("[demo] error: no emotions received from fer_node", flush=True)
            return 1
        return 0

    def finish(self) -> None:
        if self.video is not None:
            self.video.release()
