"""Watch the robot: the newest camera frame through the pipeline, as MJPEG and a timeline.

ROS-free: a source (serve.ros_source) hands decoded frames to :meth:`LiveView.offer`; one
worker thread processes only the newest frame (like the node: freshness over completeness),
keeps the annotated JPEG for the stream endpoint, and a per-track history of the last
``window_s`` seconds for the page's timeline.
"""
from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from fer_ros.core.annotate import draw_faces
from fer_ros.serve.results import encode_jpeg


class LiveView:
    def __init__(self, pipeline, topic: str, window_s: float = 60.0):
        self.pipeline, self.topic, self.window_s = pipeline, topic, window_s
        self._wake = threading.Condition()
        self._pending: np.ndarray | None = None
        self._frame_seq = 0
        self._jpeg = b""
        self._faces: list[dict] = []
        self._timeline: dict[int, deque] = {}
        self._done: deque = deque(maxlen=30)  # processing end times, for the measured rate
        self.received = self.skipped = self.errors = 0
        self.diagnostics: list[dict] = []
        self.last_error = ""
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._work, name="fer_live", daemon=True)
        self._worker.start()

    # ----- input (any thread) --------------------------------------------------------------
    def offer(self, image: np.ndarray) -> None:
        with self._wake:
            self.received += 1
            if self._pending is not None:
                self.skipped += 1  # the worker was busy: the older frame is never processed
            self._pending = image
            self._wake.notify_all()

    def source_error(self, message: str) -> None:
        self.errors += 1
        self.last_error = message

    # ----- worker --------------------------------------------------------------------------
    def _work(self) -> None:
        while not self._stop.is_set():
            with self._wake:
                if self._pending is None:
                    self._wake.wait(timeout=0.2)
                image, self._pending = self._pending, None
            if image is None:
                continue
            try:
                self._process(image)
            except Exception as exc:  # noqa: BLE001 - a bad frame must not end the live view
                self.source_error(f"{type(exc).__name__}: {exc}")

    def _process(self, image: np.ndarray) -> None:
        result = self.pipeline.process(image)
        jpeg = encode_jpeg(draw_faces(image, result), 80)
        now = time.time()
        faces = [{"face_id": f.track_id, "label": f.label,
                  "confidence": round(float(f.confidence), 3)} for f in result.faces]
        with self._wake:
            self._jpeg, self._faces = jpeg, faces
            self._frame_seq += 1
            self._done.append(time.monotonic())
            for face in faces:
                self._timeline.setdefault(face["face_id"], deque()).append(
                    (round(now, 2), face["label"], face["confidence"]))
            self._forget_before(now - self.window_s)
            self._wake.notify_all()

    def _forget_before(self, cutoff: float) -> None:
        for track_id in list(self._timeline):
            points = self._timeline[track_id]
            while points and points[0][0] < cutoff:
                points.popleft()
            if not points:
                del self._timeline[track_id]

    # ----- output (request handlers) -------------------------------------------------------
    def wait_frame(self, after_seq: int, timeout: float) -> tuple[int, bytes]:
        """(sequence, JPEG) of a frame newer than ``after_seq``; same one again on timeout."""
        with self._wake:
            self._wake.wait_for(lambda: self._frame_seq > after_seq or self._stop.is_set(),
                                timeout)
            return self._frame_seq, self._jpeg

    def processed_hz(self) -> float:
        with self._wake:
            done = list(self._done)
        if len(done) < 2 or time.monotonic() - done[-1] > 2.0:
            return 0.0
        return (len(done) - 1) / (done[-1] - done[0])

    def state(self) -> dict:
        with self._wake:
            timeline = {str(k): [list(p) for p in v] for k, v in self._timeline.items()}
            faces, frames = list(self._faces), self._frame_seq
        return {"topic": self.topic, "frames_received": self.received,
                "frames_processed": frames, "frames_skipped": self.skipped,
                "errors": self.errors, "last_error": self.last_error,
                "processed_hz": round(self.processed_hz(), 2), "faces": faces,
                "now": round(time.time(), 2), "window_s": self.window_s,
                "timeline": timeline, "labels": list(self.pipeline.labels),
                "diagnostics": list(self.diagnostics)}

    def close(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        self._worker.join(timeout=2.0)
