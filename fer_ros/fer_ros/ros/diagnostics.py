"""Frame statistics of the node and their diagnostic_msgs/DiagnosticStatus.

:class:`FrameStats` is plain Python (thread-safe, clock passed in) so it can be tested
without ROS; :func:`to_status` turns a :class:`StatsSnapshot` into a DiagnosticStatus.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

OK, WARN, ERROR = 0, 1, 2  # DiagnosticStatus levels (bytes in the message)


@dataclass(frozen=True)
class StatsSnapshot:
    """Rates and latencies over the last ``window_s`` seconds, plus totals since start."""

    window_s: float
    input_hz: float              # frames published to us (received + lost)
    processed_hz: float
    drop_ratio: float            # dropped / received in the window
    latency_p50_ms: float        # message arrival -> EmotionArray published
    latency_p95_ms: float
    latency_p99_ms: float
    processing_p50_ms: float     # core pipeline time alone (decode excluded)
    received_total: int
    processed_total: int
    dropped_total: int           # not processed: replaced in the node or lost before it
    lost_total: int              # of which never reached the node's callback
    malformed_total: int
    annotated_total: int         # ~/annotated images drawn and published
    faces_last_frame: int


class FrameStats:
    """Counts arrivals, drops, malformed messages and latencies; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrivals: deque[float] = deque()
        self._drops: deque[float] = deque()
        # (publish time, arrival -> publish ms, pipeline ms)
        self._done: deque[tuple[float, float, float]] = deque()
        self.received_total = self.processed_total = 0
        self.dropped_total = self.lost_total = 0
        self.malformed_total = self.annotated_total = 0
        self.faces_last_frame = 0

    def arrived(self, t: float) -> None:
        with self._lock:
            self._arrivals.append(t)
            self.received_total += 1

    def dropped(self, t: float) -> None:
        """A frame was replaced by a newer one before it was processed."""
        with self._lock:
            self._drops.append(t)
            self.dropped_total += 1

    def lost(self, t: float, count: int) -> None:
        """``count`` frames never reached the callback (publication sequence gap: replaced
        in the keep-last DDS queue while the executor was busy, or lost under best effort)."""
        with self._lock:
            for _ in range(min(count, 10_000)):
                self._arrivals.append(t)
                self._drops.append(t)
            self.lost_total += count
            self.dropped_total += count

    def malformed(self) -> None:
        with self._lock:
            self.malformed_total += 1

    def annotated(self) -> None:
        with self._lock:
            self.annotated_total += 1

    def processed(self, arrival_t: float, publish_t: float, faces: int,
                  processing_ms: float = float("nan")) -> None:
        with self._lock:
            self._done.append((publish_t, (publish_t - arrival_t) * 1000.0, processing_ms))
            self.processed_total += 1
            self.faces_last_frame = faces

    def snapshot(self, now: float, window_s: float) -> StatsSnapshot:
        with self._lock:
            start = now - window_s
            for q in (self._arrivals, self._drops):
                while q and q[0] < start:
                    q.popleft()
            while self._done and self._done[0][0] < start:
                self._done.popleft()
            latencies = np.array([lat for _, lat, _ in self._done], dtype=np.float64)
            p50, p95, p99 = (np.percentile(latencies, [50, 95, 99]) if latencies.size
                             else (float("nan"),) * 3)
            processing = [ms for _, _, ms in self._done if ms == ms]
            processing_p50 = float(np.median(processing)) if processing else float("nan")
            received = len(self._arrivals)
            return StatsSnapshot(
                window_s=window_s,
                input_hz=received / window_s,
                processed_hz=len(self._done) / window_s,
                drop_ratio=len(self._drops) / received if received else 0.0,
                latency_p50_ms=float(p50), latency_p95_ms=float(p95),
                latency_p99_ms=float(p99), processing_p50_ms=processing_p50,
                received_total=self.received_total, processed_total=self.processed_total,
                dropped_total=self.dropped_total, lost_total=self.lost_total,
                malformed_total=self.malformed_total,
                annotated_total=self.annotated_total,
                faces_last_frame=self.faces_last_frame)


@dataclass(frozen=True)
class Limits:
    warn_latency_ms: float
    error_latency_ms: float
    warn_drop_ratio: float
    error_drop_ratio: float


def _grade(value: float, warn: float, error: float) -> int:
    if value != value:  # NaN: nothing measured yet
        return OK
    return ERROR if value > error else WARN if value > warn else OK


def assess(snap: StatsSnapshot, limits: Limits, waiting_for: str = "") -> tuple[int, str]:
    """(level, message) for a snapshot: the worst of input, latency and drops."""
    if waiting_for:
        return WARN, waiting_for
    if snap.input_hz == 0.0:
        return WARN, f"no images received in the last {snap.window_s:g} s"
    latency = _grade(snap.latency_p95_ms, limits.warn_latency_ms, limits.error_latency_ms)
    drops = _grade(snap.drop_ratio, limits.warn_drop_ratio, limits.error_drop_ratio)
    problems = []
    if latency != OK:
        limit = limits.error_latency_ms if latency == ERROR else limits.warn_latency_ms
        problems.append(f"latency p95 {snap.latency_p95_ms:.0f} ms > {limit:g} ms")
    if drops != OK:
        problems.append(f"dropping {snap.drop_ratio:.0%} of frames")
    return max(latency, drops), "; ".join(problems) or "ok"


def to_status(name: str, hardware_id: str, level: int, message: str,
              snap: StatsSnapshot, extra: dict[str, str]):
    """A diagnostic_msgs/DiagnosticStatus for one snapshot."""
    from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
    status = DiagnosticStatus()
    status.level = bytes([level])
    status.name = name
    status.message = message
    status.hardware_id = hardware_id
    values = {
        "input_rate_hz": f"{snap.input_hz:.2f}",
        "processed_rate_hz": f"{snap.processed_hz:.2f}",
        "drop_ratio": f"{snap.drop_ratio:.3f}",
        "latency_p50_ms": f"{snap.latency_p50_ms:.1f}",
        "latency_p95_ms": f"{snap.latency_p95_ms:.1f}",
        "latency_p99_ms": f"{snap.latency_p99_ms:.1f}",
        "processing_p50_ms": f"{snap.processing_p50_ms:.1f}",
        "frames_received": str(snap.received_total),
        "frames_processed": str(snap.processed_total),
        "frames_dropped": str(snap.dropped_total),
        "frames_lost_before_node": str(snap.lost_total),
        "messages_malformed": str(snap.malformed_total),
        "annotated_published": str(snap.annotated_total),
        "faces_last_frame": str(snap.faces_last_frame),
        "window_s": f"{snap.window_s:g}",
        **extra,
    }
    status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
    return status
