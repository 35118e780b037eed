"""The one typed configuration of the inference pipeline.

YAML / CLI / ROS parameters -> ``PipelineConfig.from_dict`` -> the parts. Values are
checked once here, so a bad setting fails at start-up with the valid range.

    cfg = PipelineConfig.from_dict({"detector": {"score_threshold": 0.8},
                                    "classifier": {"backend": "onnxruntime", "threads": 2}})
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from fer_ros.core.errors import ConfigError

DETECTORS = ("yunet", "yunet_opencv", "haar")
BACKENDS = ("auto", "onnxruntime", "tensorrt", "torch")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "fp16", "int8")  # auto: the network by device (classify.py)
TTA_MODES = ("none", "flip")


def _check_range(name: str, value, low, high) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{name} must be in [{low}, {high}], got {value}")


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


@dataclass
class DetectorConfig:
    """Face detection. ``kind``: ``yunet`` (YuNet through ONNX Runtime, the default),
    ``yunet_opencv`` (the same model through cv2.FaceDetectorYN: same boxes, about twice
    the CPU time) or ``haar``. ``detect_max_side`` > 0 detects on a copy whose longer side
    is at most that many pixels (faster), boxes are mapped back to full resolution.
    ``large_faces`` adds reduced passes for faces larger than YuNet sees in one (a person
    close to the camera), on frames taller than about 480 px. ``full_detection_interval``
    N > 1: on a stream (tracker enabled) the whole frame is searched every Nth frame; in
    between the faces found are followed and only what changed is searched
    (core/detect_schedule.py). ``full_detection_in_background``: when the pipeline has time
    to spare between frames (a live camera), that periodic search runs on a background
    thread beside the frame (one thread, a detector of its own) and the frame two later
    takes its faces, so no frame waits for it."""

    kind: str = "yunet"
    model_path: str = ""            # "" = the packaged YuNet model
    score_threshold: float = 0.6    # YuNet score in [0, 1]
    nms_threshold: float = 0.3      # IoU above which YuNet merges boxes
    min_face_size: int = 24         # px, full-resolution box side; smaller faces are dropped
    max_faces: int = 10             # keep the highest-scoring faces; the rest are counted
    detect_max_side: int = 0        # 0 = detect at full resolution
    large_faces: bool = True        # extra reduced passes for faces up to the frame's height
    full_detection_interval: int = 10  # 1 = whole frame every frame; N: every Nth frame
    full_detection_in_background: bool = True  # the periodic search beside the frames
    haar_scale_factor: float = 1.1
    haar_min_neighbors: int = 5
    threads: int = 2                # yunet: ONNX Runtime threads (yunet_opencv: OpenCV's pool)

    def __post_init__(self) -> None:
        _check_choice("detector.kind", self.kind, DETECTORS)
        _check_range("detector.score_threshold", self.score_threshold, 0.0, 1.0)
        _check_range("detector.nms_threshold", self.nms_threshold, 0.0, 1.0)
        _check_range("detector.min_face_size", self.min_face_size, 1, 100_000)
        _check_range("detector.max_faces", self.max_faces, 1, 1000)
        if self.detect_max_side != 0:
            _check_range("detector.detect_max_side", self.detect_max_side, 32, 100_000)
        _check_range("detector.full_detection_interval", self.full_detection_interval, 1, 1000)
        _check_range("detector.haar_scale_factor", self.haar_scale_factor, 1.01, 2.0)
        _check_range("detector.haar_min_neighbors", self.haar_min_neighbors, 0, 100)
        _check_range("detector.threads", self.threads, 1, 256)


@dataclass
class ClassifierConfig:
    """Emotion classification: which bundle, which engine, how many threads."""

    bundle: str = ""                # "" = the packaged default bundle
    backend: str = "auto"           # auto: TensorRT, then ORT CUDA, then ORT CPU
    device: str = "auto"            # cpu forbids GPU backends under auto
    threads: int = 2                # CPU intra-op threads (ORT, torch)
    max_batch: int = 16             # faces per inference call; larger frames are chunked
    # auto: the bundle's int8 network on CPU (fp32 when it has none), fp16 on TensorRT;
    # fp32 / fp16 / int8 force that network (and TensorRT engine precision)
    precision: str = "auto"
    engine_cache_dir: str = ""      # "" = next to the ONNX model
    checkpoint: str = ""            # torch backend: training checkpoint (.pt)
    tta: str = "none"               # flip: average with the mirrored face (2x classify cost)
    # tau of post-hoc logit adjustment by the bundle's class prior: 0 = off; larger favours
    # the rare classes (docs/results.md: ferplus 0.3 costs 0.7 accuracy points)
    logit_adjustment: float = 0.0

    def __post_init__(self) -> None:
        _check_choice("classifier.backend", self.backend, BACKENDS)
        _check_choice("classifier.device", self.device, DEVICES)
        _check_choice("classifier.precision", self.precision, PRECISIONS)
        _check_choice("classifier.tta", self.tta, TTA_MODES)
        _check_range("classifier.threads", self.threads, 1, 256)
        _check_range("classifier.max_batch", self.max_batch, 1, 1024)
        _check_range("classifier.logit_adjustment", self.logit_adjustment, 0.0, 2.0)


@dataclass
class TrackerConfig:
    """IoU tracking across frames; ``smoothing`` is the weight of a track's history in
    the exponential average of its probabilities (0 = no smoothing). ``classify_interval``
    N > 1: a face the tracker follows is classified again on every Nth frame (its turn is
    staggered by track id, so the work spreads evenly); on the frames between it keeps its
    track's probabilities. New faces are classified at once."""

    enabled: bool = True
    iou_threshold: float = 0.3      # minimum IoU to continue a track
    max_missed: int = 5             # frames a track survives without a matching face
    smoothing: float = 0.5
    classify_interval: int = 2      # 1 = every face every frame

    def __post_init__(self) -> None:
        _check_range("tracker.iou_threshold", self.iou_threshold, 0.0, 1.0)
        _check_range("tracker.max_missed", self.max_missed, 0, 100_000)
        _check_range("tracker.smoothing", self.smoothing, 0.0, 0.99)
        _check_range("tracker.classify_interval", self.classify_interval, 1, 1000)


@dataclass
class PipelineConfig:
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)

    @classmethod
    def from_dict(cls, data: dict | None) -> "PipelineConfig":
        """Nested dict (e.g. parsed YAML) -> config; unknown keys are an error, not ignored."""
        data = dict(data or {})
        parts = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = set(data) - set(parts)
        if unknown:
            raise ConfigError(f"unknown config section(s) {sorted(unknown)}; "
                              f"valid: {sorted(parts)}")
        kinds = {"detector": DetectorConfig, "classifier": ClassifierConfig,
                 "tracker": TrackerConfig}
        return cls(**{name: _build(kinds[name], name, data.get(name)) for name in kinds})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _build(kind, section: str, values: dict | None):
    values = dict(values or {})
    fields = {f.name: f for f in dataclasses.fields(kind)}
    unknown = set(values) - set(fields)
    if unknown:
        raise ConfigError(f"unknown {section} setting(s) {sorted(unknown)}; "
                          f"valid: {sorted(fields)}")
    typed = {}
    for name, value in values.items():
        default = fields[name].default
        typed[name] = coerce_value(f"{section}.{name}", value, type(default))
    return kind(**typed)


def coerce_value(name: str, value, kind):
    """YAML/ROS give ints for floats and strings for everything; accept the safe cases."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    raise ConfigError(f"{name} must be a {kind.__name__}, got {value!r}")
