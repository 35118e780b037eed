"""fer_node through real DDS: a probe process publishes VGA frames, the installed fer_node
process classifies them, the probe receives the EmotionArray replies.

Two phases, each ``seconds`` long:
- throughput: frames offered at ``rate_hz`` (faster than the node can go; it keeps only the
  newest frame), node_dds_fps = replies received per second;
- latency: frames at ``latency_rate_hz`` (below the node's capacity), latency = reply
  received - frame published, matched by header stamp, on the probe's one clock (so it
  includes DDS transport both ways, decoding, the pipeline and publishing). The node's own
  arrival -> publish percentiles (its /diagnostics) are reported beside it;
- robot budget: frames at ``camera_rate_hz`` (30, a camera), CPU time of the fer_node
  process (all threads, /proc/<pid>/stat) per reply: node_cpu_ms_per_frame_30fps.
Needs the colcon workspace sourced (rclpy, fer_ros_msgs, the installed fer_node).
"""
from __future__ import annotations

import array
import os
import random
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

NAMESPACE = "/fer_bench"
IMAGE_TOPIC = f"{NAMESPACE}/camera/image_raw"
EMOTIONS_TOPIC = f"{NAMESPACE}/emotions"
LISTENED_FACE_IDS = 10        # the benchmark stream's 3 faces keep ids below this


def installed_node() -> tuple[Path, Path, Path | None]:
    """(fer_node executable, its params file, the Fast DDS large-image profile or None)."""
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    try:
        prefix = Path(get_package_prefix("fer_ros"))
    except PackageNotFoundError:  # not on AMENT_PREFIX_PATH: this checkout's colcon install
        prefix = Path(__file__).resolve().parents[3] / "install" / "fer_ros"
    exe = prefix / "lib" / "fer_ros" / "fer_node"
    if not exe.is_file():
        raise RuntimeError(f"fer_node not found at {exe}; build the workspace (make setup)")
    share = prefix / "share" / "fer_ros"
    profile = share / "config" / "fastdds_large_images.xml"
    return exe, share / "config" / "fer.yaml", profile if profile.is_file() else None


def _isolate_dds() -> None:
    """Keep benchmark traffic off a robot's network unless the user chose a domain."""
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(1, 101)))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")


def _image_msgs(frames) -> list:
    from sensor_msgs.msg import Image
    msgs = []
    for frame in frames:
        frame = np.ascontiguousarray(frame)
        msg = Image(height=frame.shape[0], width=frame.shape[1], encoding="bgr8",
                    is_bigendian=0, step=int(frame.strides[0]))
        msg.header.frame_id = "bench_camera"
        msg.data = array.array("B", frame.tobytes())
        msgs.append(msg)
    return msgs


class _Probe:
    def __init__(self, context, listen_outputs: bool = False) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from fer_ros_msgs.msg import EmotionArray
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image
        self.node = __import__("rclpy").create_node("fer_bench_probe", context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        reliable = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        self.pub = self.node.create_publisher(Image, IMAGE_TOPIC, reliable)
        self.replies: list[tuple[float, int]] = []  # (receive time, stamp key)
        self.faces: dict[int, int] = {}  # stamp key -> faces in the reply
        self.diagnostics: dict[str, str] = {}
        self.node.create_subscription(EmotionArray, EMOTIONS_TOPIC, self._on_reply, 100)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)
        if listen_outputs:
            self._listen_to_outputs()

    def _listen_to_outputs(self) -> None:
        """Subscribe to the REP-155 and vision_msgs outputs (the node builds them only for
        subscribers): tracked, detections, and roi + expression of the first face ids."""
        from hri_msgs.msg import Expression, IdsList, NormalizedRegionOfInterest2D
        from vision_msgs.msg import Detection2DArray
        from fer_ros.ros.hri_mapping import rep_face_id
        from fer_ros.ros.hri_output import DEFAULT_PREFIX  # the params file's hri.prefix
        count = lambda _msg: None  # noqa: E731 - receiving is the point, not the content
        topics = [(IdsList, f"{DEFAULT_PREFIX}/tracked"),
                  (Detection2DArray, f"{NAMESPACE}/fer_node/detections")]
        for track_id in range(LISTENED_FACE_IDS):
            face = f"{DEFAULT_PREFIX}/{rep_face_id(track_id)}"
            topics += [(NormalizedRegionOfInterest2D, f"{face}/roi"),
                       (Expression, f"{face}/expression")]
        for msg_type, topic in topics:
            self.node.create_subscription(msg_type, topic, count, 10)

    def _on_reply(self, msg) -> None:
        key = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        self.replies.append((time.monotonic(), key))
        self.faces[key] = len(msg.faces)

    def _on_diag(self, msg) -> None:
        for status in msg.status:
            if "fer" in status.name:
                self.diagnostics = {kv.key: kv.value for kv in status.values}

    def spin_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.executor.spin_once(timeout_sec=min(left, 0.01))

    def stream(self, msgs, rate_hz: float, seconds: float, first_index: int) -> dict[int, float]:
        """Publish at ``rate_hz`` for ``seconds``; stamp key -> publish time."""
        sent, start, i = {}, time.monotonic(), 0
        while (now := time.monotonic()) < start + seconds:
            due = start + i / rate_hz
            if now < due:
                self.executor.spin_once(timeout_sec=min(due - now, 0.01))
                continue
            msg = msgs[i % len(msgs)]
            key = (first_index + i) * 1000  # unique stamp per frame
            msg.header.stamp.sec, msg.header.stamp.nanosec = key // 10**9, key % 10**9
            sent[key] = time.monotonic()
            self.pub.publish(msg)
            i += 1
        return sent


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_per_frame(probe, node_pid: int, msgs, rate_hz: float, seconds: float) -> dict:
    probe.replies.clear()
    cpu_start = process_cpu_seconds(node_pid)
    sent = probe.stream(msgs, rate_hz, seconds, 3_000_000)
    probe.spin_for(1.0)
    cpu = process_cpu_seconds(node_pid) - cpu_start
    replies = sum(1 for _, k in probe.replies if k in sent)
    return {"node_cpu_ms_per_frame_30fps": round(1000.0 * cpu / replies, 2) if replies else None,
            "cpu_phase_offered_fps": rate_hz, "cpu_phase_frames": len(sent),
            "cpu_phase_replies": replies, "cpu_phase_node_cpu_s": round(cpu, 3),
            "cpu_measured": "user+system CPU time of the fer_node process (all threads) "
                            "over the phase, including 1 s idle after it, / replies"}


def _percentile(values, q) -> float | None:
    return round(float(np.percentile(values, q)), 2) if len(values) else None


@contextmanager
def node_and_probe(start_timeout_s: float = 120.0, parameters: dict | None = None,
                   listen_outputs: bool = False):
    """The installed fer_node as a process (under NAMESPACE; ``parameters`` override its
    params file) and a probe whose image publisher it has subscribed to:
    ``with node_and_probe() as (node, probe, log)``.
    Stops the node with SIGINT afterwards; raises RuntimeError if it never subscribes."""
    _isolate_dds()
    exe, params, profile = installed_node()
    if profile is not None:  # both processes need it: shared-memory transport for big images
        os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(profile))
    import rclpy
    log = tempfile.TemporaryFile("w+")
    node = subprocess.Popen([str(exe), "--ros-args", "--params-file", str(params), "-r",
                             f"__ns:={NAMESPACE}", "-r", f"image:={IMAGE_TOPIC}",
                             *_parameter_args(parameters or {})],
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        probe = _Probe(context, listen_outputs)
        deadline = time.monotonic() + start_timeout_s
        while probe.pub.get_subscription_count() == 0:
            if node.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"fer_node did not subscribe (exit {node.poll()}): "
                                   f"{log.read()[-2000:]}")
            probe.spin_for(0.1)
        yield node, probe, log
    finally:
        if node.poll() is None:
            node.send_signal(signal.SIGINT)
            try:
                node.wait(timeout=20)
            except subprocess.TimeoutExpired:
                node.kill()
                node.wait()
        rclpy.try_shutdown(context=context)


def run_node_benchmark(frames, seconds: float = 10.0, rate_hz: float = 60.0,
                       latency_rate_hz: float = 10.0, start_timeout_s: float = 120.0,
                       camera_rate_hz: float = 30.0, parameters: dict | None = None,
                       listen_outputs: bool = False) -> dict:
    """Start fer_node (``parameters`` override its params file), measure; returns JSON-ready
    results (raises RuntimeError on failure). ``listen_outputs``: the probe also subscribes
    to the REP-155 and vision_msgs outputs."""
    with node_and_probe(start_timeout_s, parameters, listen_outputs) as (node, probe, _log):
        msgs = _image_msgs(frames)
        probe.stream(msgs, 5.0, 3.0, 0)  # warm-up: model caches, DDS buffers
        probe.spin_for(2.0)
        probe.replies.clear()
        t0 = time.monotonic()
        sent_fast = probe.stream(msgs, rate_hz, seconds, 1_000_000)
        probe.spin_for(1.0)
        replies_fast = [r for r in probe.replies if r[1] in sent_fast]
        probe.replies.clear()
        sent_slow = probe.stream(msgs, latency_rate_hz, seconds, 2_000_000)
        probe.spin_for(2.0)
        latency = [(t - sent_slow[k]) * 1000.0 for t, k in probe.replies if k in sent_slow]
        probe.spin_for(1.5)  # one more diagnostics period
        budget = _cpu_per_frame(probe, node.pid, msgs, camera_rate_hz, seconds)
        costs = in_process_costs(frames)
        fast_window = max(t for t, _ in replies_fast) - t0 if replies_fast else seconds
        faces = [probe.faces[k] for _, k in replies_fast]
        diag = probe.diagnostics
        return {
            "node_dds_fps": round(len(replies_fast) / max(fast_window, 1e-9), 2),
            "offered_fps": rate_hz, "frames_offered": len(sent_fast),
            "replies": len(replies_fast),
            "faces_per_reply_mean": round(float(np.mean(faces)), 2) if faces else None,
            "node_latency_ms_p50": _percentile(latency, 50),
            "node_latency_ms_p99": _percentile(latency, 99),
            "latency_input_fps": latency_rate_hz,
            "latency_frames": len(sent_slow), "latency_replies": len(latency),
            "latency_measured": "end to end on one clock: probe publishes a 640x480 bgr8 "
                                "Image -> fer_node (separate process) -> probe receives the "
                                "EmotionArray with the same stamp",
            "node_arrival_to_publish_ms_p50": _float(diag.get("latency_p50_ms")),
            "node_arrival_to_publish_ms_p99": _float(diag.get("latency_p99_ms")),
            "node_diagnostics": diag,
            "fastdds_profile": os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE"),
            **budget,
            "in_process_costs": costs,
            "parameters": parameters or {},
        }


def _parameter_args(parameters: dict) -> list[str]:
    args = []
    for name, value in parameters.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        args += ["-p", f"{name}:={text}"]
    return args


#: the node's REP-155 (hri) and vision_msgs outputs, for the on/off comparison
REP155_OUTPUTS = ("hri.enabled", "detections.enabled")


def run_rep155_comparison(frames, seconds: float) -> dict:
    """node_dds_fps with the REP-155 and vision_msgs outputs off, then on with the probe
    subscribed to them (the node builds their messages only for subscribers: this is what
    a user of those topics pays)."""
    runs = {state: run_node_benchmark(frames, seconds=seconds, parameters={
        name: state == "on" for name in REP155_OUTPUTS}, listen_outputs=state == "on")
        for state in ("off", "on")}
    return {"node_dds_fps_rep155_off": runs["off"]["node_dds_fps"],
            "node_dds_fps_rep155_on": runs["on"]["node_dds_fps"],
            **output_cost_ms(frames),
            "node_latency_ms_p50_rep155_off": runs["off"]["node_latency_ms_p50"],
            "node_latency_ms_p50_rep155_on": runs["on"]["node_latency_ms_p50"],
            "node_cpu_ms_per_frame_30fps_rep155_off": runs["off"]["node_cpu_ms_per_frame_30fps"],
            "node_cpu_ms_per_frame_30fps_rep155_on": runs["on"]["node_cpu_ms_per_frame_30fps"],
            "runs": runs}


def output_cost_ms(frames, repeats: int = 200) -> dict:
    """In this process, ms per frame to build and publish the REP-155 and vision_msgs
    messages of the pipeline's result on ``frames[0]`` (steadier than the fps difference
    on a busy machine), beside the pipeline's own ms per frame: with a subscriber on every
    output topic, and (``*_unsubscribed``) with none, when the node builds nothing."""
    import rclpy
    from std_msgs.msg import Header
    from fer_ros.core.pipeline import Pipeline
    from fer_ros.ros.detections import DetectionsOutput
    from fer_ros.ros.hri_output import HriOutput
    context = rclpy.Context()
    rclpy.init(context=context)
    pipeline = Pipeline()
    try:
        node = rclpy.create_node("fer_bench_outputs", context=context)
        result = pipeline.process(frames[0])
        start = time.perf_counter()
        for _ in range(10):
            result = pipeline.process(frames[0])
        pipeline_ms = (time.perf_counter() - start) * 100.0
        hri = HriOutput(node, f"{NAMESPACE}/humans/faces", pipeline.labels)
        detections = DetectionsOutput(node, pipeline.labels)
        header, shape, ids = Header(frame_id="bench_camera"), frames[0].shape, \
            pipeline.live_track_ids()
        steps = (("hri", lambda: hri.publish(result, header, shape, ids)),
                 ("detections", lambda: detections.publish(result, header, shape)))
        costs = {}
        for subscribed in (False, True):
            if subscribed:
                _subscribe_all(node, hri, detections)
            for name, publish in steps:
                start = time.perf_counter()
                for _ in range(repeats):
                    publish()
                key = f"{name}_publish_ms_per_frame{'' if subscribed else '_unsubscribed'}"
                costs[key] = round((time.perf_counter() - start) * 1000.0 / repeats, 3)
        return {**costs, "faces_per_frame": len(result.faces),
                "pipeline_ms_per_frame": round(pipeline_ms, 2)}
    finally:
        pipeline.close()
        rclpy.try_shutdown(context=context)


def _subscribe_all(node, hri, detections, timeout_s: float = 10.0) -> None:
    """Subscribe ``node`` to every output topic and wait until each publisher sees it."""
    from rclpy.executors import SingleThreadedExecutor
    publishers = [hri.tracked_pub, detections.pub, *hri.faces.publishers]
    for publisher in publishers:
        node.create_subscription(publisher.msg_type, publisher.topic_name, lambda _m: None, 10)
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    deadline = time.monotonic() + timeout_s
    while any(p.get_subscription_count() == 0 for p in publishers):
        if time.monotonic() > deadline:
            raise RuntimeError("output subscriptions did not match within "
                               f"{timeout_s:.0f} s")
        executor.spin_once(timeout_sec=0.05)
    executor.remove_node(node)


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def in_process_costs(frames, repeats: int = 50) -> dict:
    """Median ms of the node's per-frame steps besides the pipeline, measured in this
    process on the same 640x480 bgr8 Images: where publish -> receive time goes besides
    DDS transport (which needs two processes: ``node_latency_ms_*`` minus these and the
    pipeline's own time)."""
    import threading

    from rclpy.serialization import deserialize_message, serialize_message
    from sensor_msgs.msg import Image

    from fer_ros.ros.convert import image_to_bgr8
    msg = _image_msgs(frames[:1])[0]
    wire = serialize_message(msg)

    def median_ms(step) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            step()
            times.append((time.perf_counter() - start) * 1000.0)
        return round(float(np.median(times)), 3)

    wake, handed = threading.Condition(), []

    def worker():
        with wake:
            while len(handed) < repeats:
                wake.wait()
                handed[-1] = time.perf_counter() - handed[-1]
                wake.notify()

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    for _ in range(repeats):  # the node's hand-off: executor thread -> worker (Condition)
        with wake:
            handed.append(time.perf_counter())
            wake.notify()
            wake.wait(1.0)
    thread.join(2.0)
    return {"serialize_ms": median_ms(lambda: serialize_message(msg)),
            "deserialize_ms": median_ms(lambda: deserialize_message(wire, Image)),
            "image_to_bgr8_ms": median_ms(lambda: image_to_bgr8(msg)),
            "worker_handoff_ms": round(float(np.median(handed)) * 1000.0, 3),
            "image_bytes": len(wire)}
