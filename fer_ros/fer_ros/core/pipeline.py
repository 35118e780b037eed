"""The inference pipeline: frame -> detect -> preprocess -> classify (one batch) -> track.

    from fer_ros.core.config import PipelineConfig
    from fer_ros.core.pipeline import Pipeline

    pipeline = Pipeline(PipelineConfig.from_dict({"classifier": {"threads": 2}}))
    result = pipeline.process(frame_bgr)            # or process_encoded(array, "rgb8")
    for face in result.faces:
        print(face.track_id, face.label, face.confidence, face.box)
    print(result.timings_ms)                         # detect, preprocess, classify, track, total

ROS-free and torch-free: the node, the bag tools, the benchmarks and ``fer-ros detect``
all run this same code.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from itertools import compress

import numpy as np

from fer_ros.core.bundle import Bundle, load_bundle
from fer_ros.core.calibration import adjust_for_prior, apply_temperature
from fer_ros.core.classify import mirror_averaged, select_backend
from fer_ros.core.config import PipelineConfig, TrackerConfig, coerce_value
from fer_ros.core.detect import make_detector
from fer_ros.core.detect_schedule import DetectionSchedule
from fer_ros.core.errors import ConfigError
from fer_ros.core.image import check_frame, to_bgr8
from fer_ros.core.preprocess import preprocess_faces
from fer_ros.core.track import IouTracker
from fer_ros.core.types import Box, FaceEmotion, FrameResult

log = logging.getLogger(__name__)

#: detector settings that can change while running (kind and model file need a restart)
RUNTIME_DETECTOR_FIELDS = ("score_threshold", "nms_threshold", "min_face_size", "max_faces",
                           "detect_max_side", "large_faces", "full_detection_interval",
                           "full_detection_in_background",
                           "haar_scale_factor", "haar_min_neighbors")
RUNTIME_TRACKER_FIELDS = tuple(f.name for f in dataclasses.fields(TrackerConfig))
#: the pipeline waited this long for a frame: it has time to search beside the frames (a
#: live camera); frames back to back (bags, videos, a saturated node) are searched in the
#: frame, which costs less in all (and keeps their results independent of timing)
SPARE_S = 0.005


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


class Pipeline:
    """Builds detector, classifier backend and tracker from one :class:`PipelineConfig`."""

    def __init__(self, config: PipelineConfig | None = None, bundle: Bundle | None = None) -> None:
        self.config = config or PipelineConfig()
        self.bundle = bundle or load_bundle(self.config.classifier.bundle or None)
        if self.config.classifier.logit_adjustment and self.bundle.class_prior is None:
            raise ConfigError(f"classifier.logit_adjustment needs the bundle's class prior, "
                              f"which {self.bundle.path}/model.json lacks (output.class_prior); "
                              "add it with scripts/logit_adjustment.py --write or set 0")
        self.detector = make_detector(self.config.detector)
        # periodic whole-frame searches run beside the frames on a detector of their own,
        # one thread: it has a whole frame period, and one thread spends the least CPU
        self.schedule = DetectionSchedule(self.detector, lambda: make_detector(
            dataclasses.replace(self.config.detector, threads=1)))
        self.backend = select_backend(self.config.classifier, self.bundle)
        self.tracker = IouTracker(self.config.tracker)
        # process() may run in a worker thread while a parameter callback updates thresholds
        self._lock = threading.RLock()
        self._finished = -1.0  # perf_counter() when the last frame was done
        log.info("pipeline: detector %s, model %s %s (%d labels), backend %s",
                 self.detector.name, self.model_name, self.model_version,
                 len(self.labels), self.backend_name)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.bundle.labels

    @property
    def model_name(self) -> str:
        return self.bundle.name

    @property
    def model_version(self) -> str:
        return self.bundle.version

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def reset_tracks(self) -> None:
        """Forget all tracks (e.g. between unrelated videos); ids restart at 0 and the next
        frame is searched whole."""
        with self._lock:
            self.tracker.reset()
            self.schedule.reset()

    def process_encoded(self, array: np.ndarray, encoding: str,
                        depth16: str = "scale") -> FrameResult:
        """Decode a raw camera buffer (ROS encoding name) then :meth:`process` it."""
        start = time.perf_counter()
        image = to_bgr8(array, encoding, depth16)
        decode_ms = _ms(start)
        result = self.process(image)
        result.timings_ms["decode"] = decode_ms
        result.timings_ms["total"] += decode_ms
        return result

    def process(self, image: np.ndarray) -> FrameResult:
        """One uint8 BGR (HxWx3) or gray (HxW) frame -> every face with its emotion."""
        image = check_frame(image)
        with self._lock:
            return self._process(image)

    def _process(self, image: np.ndarray) -> FrameResult:
        timings = {}
        start = t = time.perf_counter()
        # a tracking pipeline sees a stream: faces are followed between full searches;
        # without tracking frames are unrelated photos: every one is searched whole
        spare = start - self._finished >= SPARE_S
        detections, dropped, full = self.schedule.detect(image, self.config.tracker.enabled,
                                                         spare)
        timings["detect"] = _ms(t)
        if dropped:
            log.debug("%d faces above max_faces=%d were dropped", dropped,
                      self.detector.config.max_faces)
        boxes = [d.box for d in detections]
        t = time.perf_counter()
        # a frame that waited for a whole-frame search leaves its followed faces to the next
        busy = self.schedule.blocked and self.config.detector.full_detection_interval > 1
        due = self.tracker.due(boxes, busy)
        timings["track"] = _ms(t)
        probs = np.zeros((len(boxes), len(self.labels)), np.float32)
        if any(due):  # followed faces off their turn keep their track's probabilities
            probs[due] = self.classify_boxes(image, list(compress(boxes, due)), timings)
        else:
            timings["preprocess"] = timings["classify"] = 0.0
        t = time.perf_counter()
        ids, probs = self.tracker.update(boxes, probs, due)
        timings["track"] += _ms(t)
        faces = [self._face(d, tid, p) for d, tid, p in zip(detections, ids, probs)]
        timings["total"] = _ms(start)
        self._finished = time.perf_counter()
        return FrameResult(faces=faces, labels=self.labels, timings_ms=timings,
                           dropped_faces=dropped, full_detection=full,
                           faces_classified=sum(due))

    def classify_boxes(self, image: np.ndarray, boxes: list[Box],
                       timings: dict | None = None) -> np.ndarray:
        """Probabilities (N, K) for faces at known boxes (no detection, no tracking)."""
        timings = {} if timings is None else timings
        t = time.perf_counter()
        batch = preprocess_faces(image, [b.as_tuple() for b in boxes], self.bundle.input_spec)
        timings["preprocess"] = _ms(t)
        return self._classify_batch(batch, timings)

    def classify_crops(self, crops: list[np.ndarray], timings: dict | None = None) -> np.ndarray:
        """Probabilities (N, K) for images that each show one face already cut out (e.g. a
        ROS4HRI detector's /humans/faces/<id>/aligned): the whole image is the face box,
        through the same preprocessing as detected faces."""
        timings = {} if timings is None else timings
        t = time.perf_counter()
        spec = self.bundle.input_spec
        crops = [check_frame(c) for c in crops]
        batch = np.concatenate(
            [preprocess_faces(c, [(0, 0, c.shape[1], c.shape[0])], spec) for c in crops]) \
            if crops else np.empty((0, spec.channels, spec.size, spec.size), np.float32)
        timings["preprocess"] = _ms(t)
        return self._classify_batch(batch, timings)

    def _classify_batch(self, batch: np.ndarray, timings: dict) -> np.ndarray:
        t = time.perf_counter()
        probs = self._infer(batch)
        timings["classify"] = _ms(t)
        return probs

    def live_track_ids(self) -> list[int]:
        """Ids the tracker still follows (seen within ``max_missed`` frames)."""
        with self._lock:
            return [track.track_id for track in self.tracker.tracks]

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        """Backend probabilities, mirrored-face averaging (tta flip), bundle temperature, then
        the logit adjustment by the bundle's class prior (when set)."""
        if self.config.classifier.tta == "flip":
            probs = mirror_averaged(self.backend.infer, batch)
        else:
            probs = self.backend.infer(batch)
        probs = apply_temperature(probs, self.bundle.temperature)
        return adjust_for_prior(probs, self.bundle.class_prior,
                                self.config.classifier.logit_adjustment)

    def _face(self, detection, track_id: int, probs: np.ndarray) -> FaceEmotion:
        best = int(np.argmax(probs))
        return FaceEmotion(box=detection.box, detector_score=detection.score, track_id=track_id,
                           label=self.labels[best], confidence=float(probs[best]),
                           scores=np.asarray(probs, np.float32))

    def update_thresholds(self, detector: dict | None = None, tracker: dict | None = None,
                          classifier: dict | None = None, **flat) -> None:
        """Change detector/tracker settings while running; all-or-nothing.

        Accepts sections (``detector={"score_threshold": 0.8}``) or flat names
        (``score_threshold=0.8, smoothing=0.3``). Classifier settings need a restart.
        """
        if classifier:
            raise ConfigError(f"classifier settings {sorted(classifier)} cannot change at "
                              "runtime; restart the pipeline with the new configuration")
        det, trk = dict(detector or {}), dict(tracker or {})
        for name, value in flat.items():
            if name in RUNTIME_DETECTOR_FIELDS:
                det[name] = value
            elif name in RUNTIME_TRACKER_FIELDS:
                trk[name] = value
            else:
                raise ConfigError(f"unknown or restart-only setting {name!r}; runtime settings: "
                                  f"{', '.join(RUNTIME_DETECTOR_FIELDS + RUNTIME_TRACKER_FIELDS)}")
        bad = set(det) - set(RUNTIME_DETECTOR_FIELDS)
        if bad:
            raise ConfigError(f"detector settings {sorted(bad)} cannot change at runtime; "
                              f"runtime ones: {', '.join(RUNTIME_DETECTOR_FIELDS)}")
        # replace() re-runs validation; build both before applying either (all-or-nothing)
        new_det, det = _replace(self.config.detector, det, "detector")
        new_trk, trk = _replace(self.config.tracker, trk, "tracker")
        with self._lock:
            if det:  # faces followed under the old settings (e.g. max_faces): search again
                self.schedule.update_detector(**det)
            self.tracker.update_config(**trk)
            self.config = dataclasses.replace(self.config, detector=new_det, tracker=new_trk)

    def close(self) -> None:
        self.schedule.close()
        self.backend.close()


def _replace(config, changes: dict, section: str):
    """(validated copy of ``config`` with ``changes``, the changes with coerced types)."""
    fields = {f.name: f for f in dataclasses.fields(config)}
    unknown = set(changes) - set(fields)
    if unknown:
        raise ConfigError(f"unknown {section} setting(s) {sorted(unknown)}")
    typed = {k: coerce_value(f"{section}.{k}", v, type(fields[k].default))
             for k, v in changes.items()}
    return dataclasses.replace(config, **typed), typed
