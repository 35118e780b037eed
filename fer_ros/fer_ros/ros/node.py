"""fer_node: camera images in, fer_ros_msgs/EmotionArray out.

    ros2 run fer_ros fer_node --ros-args -r image:=/camera/image_raw
    ros2 launch fer_ros fer.launch.py image_topic:=/camera/image_raw

The node only adapts the ROS-free core :class:`fer_ros.core.pipeline.Pipeline`.
Image callbacks store the newest frame and return; one worker thread processes the
newest frame, so a slow model lowers the output rate, never the freshness of results.
Frames replaced before they were processed are counted as dropped.
"""
from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from fer_ros_msgs.msg import EmotionArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CompressedImage, Image

from fer_ros.core.annotate import draw_faces
from fer_ros.core.config import PipelineConfig
from fer_ros.core.errors import ConfigError, FerError, InputError
from fer_ros.core.pipeline import Pipeline
from fer_ros.ros import params, qos
from fer_ros.ros.outputs import FaceOutputs
from fer_ros.ros.convert import array_to_image, compressed_to_bgr8, image_to_bgr8, \
    result_to_msg
from fer_ros.ros.diagnostics import FrameStats, Limits, assess, to_status
from fer_ros.ros.hri_input import FaceCrops

LOG_THROTTLE_S = 5.0
IDLE_WAIT_S = 0.2    # the worker checks for shutdown at least this often
HRI_GATHER_S = 0.1   # input.source hri: the most a face image waits for its frame's others


@dataclass
class PendingFrame:
    """The newest received message, waiting for the worker."""

    msg: object
    compressed: bool
    arrival: float  # time.monotonic() when the callback ran


class FerNode(Node):
    """Subscribes ``image`` (+ ``image/compressed``), publishes ``emotions``,
    ``~/annotated`` and ``/diagnostics``."""

    def __init__(self, **kwargs) -> None:
        super().__init__("fer_node", **kwargs)
        self._values = params.declare_all(self)
        self._warn_unknown_overrides()
        self.config = params.build_config(self._values)
        self.pipeline = Pipeline(PipelineConfig.from_dict(self.config.pipeline))
        self.stats = FrameStats()
        self._pending: PendingFrame | None = None
        self._pending_changes: dict = {}
        self._last_sequence: dict[tuple, int] = {}   # (input, publisher gid) -> last seq
        self._wake = threading.Condition()
        self._stop = threading.Event()

        self.emotions_pub = self.create_publisher(EmotionArray, "emotions", 10)
        self.annotated_pub = self.create_publisher(Image, "~/annotated", 1)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.outputs = FaceOutputs(self, self.config, self.pipeline, self._on_face_image)
        self.image_topic = self.resolve_topic_name("image")
        # image_transport convention: the compressed stream is <image topic>/compressed.
        self._inputs = {self.image_topic: (Image, False)}
        if self.config.compressed:
            self._inputs[self.image_topic + "/compressed"] = (CompressedImage, True)
        if self.outputs.hri_input is not None:  # faces come from a ROS4HRI detector
            self._inputs, self.image_topic = {}, self.outputs.hri_input.tracked_topic
        self._subscriptions_by_topic: dict[str, object] = {}
        self._diag_timer = self.create_timer(1.0, self._publish_diagnostics)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._worker = threading.Thread(target=self._work, name="fer_worker", daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"model {self.pipeline.model_name} {self.pipeline.model_version} on "
            f"{self.pipeline.backend_name}; input {', '.join(self._inputs)}")
        # Subscribe last: a matched subscription means the node is ready for frames.
        self._qos_timer = self.create_timer(1.0, self._subscribe_inputs)
        self._subscribe_inputs()
        if self._waiting_for():
            self.get_logger().info(self._waiting_for())

    def _warn_unknown_overrides(self) -> None:
        """A misspelt name in the params file would silently keep the default: say so."""
        overrides = getattr(self, "_parameter_overrides", {})  # rclpy keeps them here
        unknown = sorted(name for name in overrides if not self.has_parameter(name))
        if unknown:
            self.get_logger().warning(
                f"ignoring unknown parameters {unknown}; the valid names are in "
                "config/fer.yaml and the parameter table of docs/node.md")

    # ----- inputs -------------------------------------------------------------------------

    def _subscribe_inputs(self) -> None:
        """Subscribe each input once its QoS is known (auto: once a publisher exists)."""
        for topic, (msg_type, compressed) in self._inputs.items():
            if topic in self._subscriptions_by_topic:
                continue
            reliability = qos.choose_reliability(self.config.reliability, self, topic)
            if reliability is None:
                continue
            profile: QoSProfile = qos.image_qos(reliability, self.config.depth)
            self._subscriptions_by_topic[topic] = self.create_subscription(
                msg_type, topic, lambda msg, info, c=compressed: self._on_image(msg, info, c),
                profile)
            self.get_logger().info(f"subscribed to {topic} ({qos.policy_name(reliability)}, "
                                   f"depth {self.config.depth})")
        if len(self._subscriptions_by_topic) == len(self._inputs):
            self._qos_timer.cancel()

    def _waiting_for(self) -> str:
        missing = [t for t in self._inputs if t not in self._subscriptions_by_topic]
        if not missing:
            return ""
        return (f"waiting for a publisher on {', '.join(missing)} to match its QoS "
                "(or set input.reliability)")

    def _on_image(self, msg, info, compressed: bool) -> None:
        """Executor callback: keep only the newest frame; never blocks on inference."""
        now = time.monotonic()
        arrival = self._reception_time(info, now)
        self._count_lost(info, compressed, now)
        self.stats.arrived(now)
        with self._wake:
            if self._pending is not None:
                self.stats.dropped(now)
            self._pending = PendingFrame(msg, compressed, arrival)
            self._wake.notify()

    @staticmethod
    def _reception_time(info, now: float) -> float:
        """When DDS received the message, on the monotonic clock: latency then includes any
        time the message waited for a busy executor, not just the worker's time."""
        received_ns = info.get("received_timestamp") or 0
        waited = (time.time_ns() - received_ns) / 1e9 if received_ns else 0.0
        return now - min(max(waited, 0.0), 60.0)

    def _count_lost(self, info, compressed: bool, now: float) -> None:
        """Gaps in a publisher's sequence numbers = frames that never reached us."""
        seq, gid = info.get("publication_sequence_number"), info.get("publisher_gid")
        if not seq or not gid:
            return  # this RMW does not report them
        key = (compressed, bytes(gid.get("data", b"")))
        last = self._last_sequence.get(key)
        self._last_sequence[key] = seq
        if last is not None and seq > last + 1:
            self.stats.lost(now, seq - last - 1)

    def _on_face_image(self, rep_id: str, msg) -> None:
        """input.source hri: keep the newest image of each face for the worker
        (``msg`` None: faces left; wake the worker to remove their topics)."""
        now = time.monotonic()
        with self._wake:
            if self._pending is None:
                self._pending = PendingFrame(FaceCrops(), False, now)
            if msg is not None:
                self.stats.arrived(now)
                if self._pending.msg.add(rep_id, msg, now):
                    self.stats.dropped(now)
            if msg is None or self._ready(self._pending):
                self._wake.notify()

    def _ready(self, frame: PendingFrame | None) -> bool:
        """A camera frame is ready at once; face images once every tracked face has one, so
        a frame's faces go out in one EmotionArray, or after HRI_GATHER_S (an image that
        never comes must not hold back the others)."""
        if frame is None or not isinstance(frame.msg, FaceCrops):
            return frame is not None
        return frame.msg.complete(self.outputs.hri_input.ids) or \
            time.monotonic() - frame.arrival >= HRI_GATHER_S

    # ----- worker -------------------------------------------------------------------------

    def _take_newest(self) -> PendingFrame | None:
        with self._wake:
            if not self._ready(self._pending):
                self._wake.wait(timeout=self._wait_s())
            if not self._ready(self._pending):
                return None
            frame, self._pending = self._pending, None
            return frame

    def _wait_s(self) -> float:
        if self._pending is None:
            return IDLE_WAIT_S
        return max(HRI_GATHER_S - (time.monotonic() - self._pending.arrival), 0.001)

    def _work(self) -> None:
        while not self._stop.is_set():
            frame = self._take_newest()
            if frame is None:
                continue
            self._apply_pipeline_changes()
            try:
                self._process(frame)
            except InputError as exc:
                self.stats.malformed()
                self.get_logger().warning(f"skipped an image: {exc}",
                                          throttle_duration_sec=LOG_THROTTLE_S)
            except Exception as exc:  # noqa: BLE001 - keep serving; the reason is logged
                if not self.context.ok():
                    return  # shut down mid-frame: publishers are gone, nothing to report
                self.get_logger().error(f"processing failed: {type(exc).__name__}: {exc}",
                                        throttle_duration_sec=LOG_THROTTLE_S)

    def _process(self, frame: PendingFrame) -> None:
        msg = frame.msg
        if isinstance(msg, FaceCrops):
            for result, header in self.outputs.process_crops(msg, self.config.depth16):
                self.emotions_pub.publish(result_to_msg(
                    result, header, self.pipeline.model_name, self.pipeline.model_version,
                    (0, 0)))
                self.stats.processed(frame.arrival, time.monotonic(), len(result.faces),
                                     result.timings_ms.get("total", float("nan")))
            return
        if frame.compressed:
            image = compressed_to_bgr8(msg)
        else:
            image = image_to_bgr8(msg, self.config.depth16)
        result = self.pipeline.process(image)
        self.emotions_pub.publish(result_to_msg(
            result, msg.header, self.pipeline.model_name, self.pipeline.model_version,
            image.shape))
        self.outputs.publish(result, msg.header, image.shape)
        self.stats.processed(frame.arrival, time.monotonic(), len(result.faces),
                             result.timings_ms.get("total", float("nan")))
        if self.config.annotate and self.annotated_pub.get_subscription_count() > 0:
            self.annotated_pub.publish(array_to_image(draw_faces(image, result), msg.header))
            self.stats.annotated()

    # ----- parameters ---------------------------------------------------------------------

    def _on_set_parameters(self, changed) -> SetParametersResult:
        """Validate run-time changes; pipeline ones are applied by the worker between frames."""
        updates = {p.name: p.value for p in changed}
        try:
            merged = params.check_update(self._values, updates)
            config = params.build_config(merged)
        except ConfigError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        self._values, self.config = merged, config
        with self._wake:
            self._pending_changes.update(
                {k: v for k, v in updates.items() if k.startswith("pipeline.")})
        self.get_logger().info(f"parameters changed: {updates}")
        return SetParametersResult(successful=True)

    def _apply_pipeline_changes(self) -> None:
        with self._wake:
            changes, self._pending_changes = self._pending_changes, {}
        if changes:
            self.pipeline.update_thresholds(**params.pipeline_dict(changes))

    # ----- diagnostics --------------------------------------------------------------------

    def _publish_diagnostics(self) -> None:
        cfg = self.config
        snap = self.stats.snapshot(time.monotonic(), cfg.window_s)
        limits = Limits(cfg.warn_latency_ms, cfg.error_latency_ms,
                        cfg.warn_drop_ratio, cfg.error_drop_ratio)
        level, message = assess(snap, limits, self._waiting_for())
        extra = {"backend": self.pipeline.backend_name,
                 "model": f"{self.pipeline.model_name} {self.pipeline.model_version}",
                 "image_topic": self.image_topic}
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        array.status = [to_status(f"fer_ros: {self.get_fully_qualified_name()}",
                                  self.image_topic, level, message, snap, extra)]
        self.diagnostics_pub.publish(array)

    def close(self) -> None:
        """Stop the worker (called before destroy_node)."""
        self._stop.set()
        with self._wake:
            self._wake.notify()
        self._worker.join(timeout=5.0)
        self.outputs.close()
        self.pipeline.close()


def main(args=None) -> int:
    """Entry point of ``fer_node``: exit 0 on SIGINT/SIGTERM, 1 with one line on bad setup."""
    rclpy.init(args=args)
    try:
        node = FerNode()
    except (FerError, ParameterException) as exc:
        print(f"[fer_node] error: {exc}", file=sys.stderr, flush=True)
        rclpy.try_shutdown()
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):  # stopped while loading the model
        rclpy.try_shutdown()
        return 0
    except Exception:
        if not rclpy.ok():  # SIGINT/SIGTERM shut the context down mid start-up: not an error
            return 0
        raise
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():  # a real error, not a signal racing the executor
            raise
    finally:
        node.close()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
