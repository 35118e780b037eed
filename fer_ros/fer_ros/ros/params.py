"""Every node setting as a declared ROS parameter -> one typed :class:`NodeConfig`.

The table :data:`PARAMETERS` is the single list of settings: name, default, description,
range, and whether it can change at run time. ``config/fer.yaml``, the parameter tables
of docs/node.md and the README, and the launch arguments' descriptions are generated from
it (``python -m fer_ros.ros.params_doc --write``; a test runs ``--check``).

Parameters under ``pipeline.`` map one to one onto the core ``PipelineConfig``
(``pipeline.detector.score_threshold`` -> ``PipelineConfig.detector.score_threshold``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fer_ros.core.config import (BACKENDS, DETECTORS, DEVICES, PRECISIONS, TTA_MODES,
                                 ClassifierConfig, DetectorConfig, TrackerConfig)
from fer_ros.core.errors import ConfigError
from fer_ros.core.image import DEPTH16_MODES


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter."""

    name: str
    default: Any
    description: str
    runtime: bool = False                        # may change while the node runs
    range: tuple[float, float] | None = None     # inclusive numeric range
    choices: tuple[str, ...] | None = None       # allowed string values

    @property
    def type_name(self) -> str:
        return type(self.default).__name__


P = ParamSpec
_DET, _CLS, _TRK = DetectorConfig(), ClassifierConfig(), TrackerConfig()  # core defaults
PARAMETERS: tuple[ParamSpec, ...] = (
    # --- classifier (model bundle + inference backend): restart-only ---
    P("pipeline.classifier.bundle", _CLS.bundle,
      "Model bundle directory (model.onnx + model.json); empty = the installed default bundle"),
    P("pipeline.classifier.backend", _CLS.backend,
      "Inference backend; auto = ONNX Runtime (CPU, or CUDA on a GPU), TensorRT swapped in "
      "when its engine is ready",
      choices=BACKENDS),
    P("pipeline.classifier.device", _CLS.device, "Device for the backend", choices=DEVICES),
    P("pipeline.classifier.threads", _CLS.threads, "CPU threads for inference",
      range=(1, 256)),
    P("pipeline.classifier.max_batch", _CLS.max_batch,
      "Most faces classified in one inference call", range=(1, 1024)),
    P("pipeline.classifier.precision", _CLS.precision,
      "Network: auto = the bundle's int8 on CPU (fp32 if it has none), fp16 on TensorRT; "
      "fp32/fp16/int8 force one", choices=PRECISIONS),
    P("pipeline.classifier.tta", _CLS.tta,
      "Test-time augmentation; flip = also classify the mirrored face and average (about +1 "
      "accuracy point, twice the classification time; docs/results.md)", choices=TTA_MODES),
    P("pipeline.classifier.logit_adjustment", _CLS.logit_adjustment,
      "Favour rare classes: probabilities times the bundle's training class prior to the power "
      "-tau; 0 = off; ferplus 0.3: fear, sadness, disgust recall up, neutral down, 0.7 "
      "accuracy points (docs/results.md)", range=(0.0, 2.0)),
    P("pipeline.classifier.engine_cache_dir", _CLS.engine_cache_dir,
      "Where TensorRT engines are cached; empty = next to the ONNX model"),
    # --- detector ---
    P("pipeline.detector.kind", _DET.kind,
      "Face detector: yunet = YuNet through ONNX Runtime, yunet_opencv = the same model "
      "through OpenCV DNN, haar = OpenCV's Haar cascade", choices=DETECTORS),
    P("pipeline.detector.model_path", _DET.model_path,
      "YuNet ONNX file; empty = the copy installed with fer_ros"),
    P("pipeline.detector.score_threshold", _DET.score_threshold,
      "Minimum face detector confidence", runtime=True, range=(0.0, 1.0)),
    P("pipeline.detector.nms_threshold", _DET.nms_threshold,
      "IoU above which overlapping detections merge", runtime=True, range=(0.0, 1.0)),
    P("pipeline.detector.min_face_size", _DET.min_face_size,
      "Smallest face side in pixels that is kept", runtime=True, range=(1, 100_000)),
    P("pipeline.detector.max_faces", _DET.max_faces,
      "Most faces classified per frame (highest detector scores first)",
      runtime=True, range=(1, 1000)),
    P("pipeline.detector.detect_max_side", _DET.detect_max_side,
      "Detect on a copy whose longer side is at most this (0 = full resolution, else >= 32)",
      runtime=True, range=(0, 100_000)),
    P("pipeline.detector.large_faces", _DET.large_faces,
      "Extra reduced passes so faces up to the frame's height are found (frames > 480 px)",
      runtime=True),
    P("pipeline.detector.full_detection_interval", _DET.full_detection_interval,
      "Search the whole frame every Nth frame; in between, find each face again near where "
      "it was and search what changed (a face appearing beside a followed one waits at "
      "most N-1 frames); 1 = whole frame every frame",
      runtime=True, range=(1, 1000)),
    P("pipeline.detector.full_detection_in_background", _DET.full_detection_in_background,
      "With time to spare between frames, run that periodic whole-frame search on a "
      "background thread beside the frame; the frame two later takes its faces",
      runtime=True),
    P("pipeline.detector.haar_scale_factor", _DET.haar_scale_factor,
      "Haar detector image pyramid step (kind haar only)", runtime=True, range=(1.01, 2.0)),
    P("pipeline.detector.haar_min_neighbors", _DET.haar_min_neighbors,
      "Haar detector neighbours needed to keep a face (kind haar only)",
      runtime=True, range=(0, 100)),
    # --- tracker ---
    P("pipeline.tracker.enabled", _TRK.enabled, "Track faces across frames (stable face ids)",
      runtime=True),
    P("pipeline.tracker.iou_threshold", _TRK.iou_threshold,
      "Minimum IoU to continue a track", runtime=True, range=(0.0, 1.0)),
    P("pipeline.tracker.max_missed", _TRK.max_missed,
      "Frames a track survives without a matching face", runtime=True, range=(0, 100_000)),
    P("pipeline.tracker.smoothing", _TRK.smoothing,
      "Weight of a track's history in its moving average of scores (0 = off)",
      runtime=True, range=(0.0, 0.99)),
    P("pipeline.tracker.classify_interval", _TRK.classify_interval,
      "Classify a followed face again every Nth frame (turns staggered by face id; between, "
      "it keeps its track's scores); new faces at once; 1 = every face every frame",
      runtime=True, range=(1, 1000)),
    # --- input / QoS: restart-only ---
    P("input.compressed", False,
      "Also subscribe to <image>/compressed (sensor_msgs/CompressedImage, jpeg/png)"),
    P("input.reliability", "auto",
      "Image subscription QoS reliability; auto = match the publishers found on the topic",
      choices=("auto", "reliable", "best_effort")),
    P("input.depth", 1, "Image subscription QoS keep-last depth", range=(1, 100)),
    P("input.depth16", "scale",
      "16-bit images to 8-bit: scale = full 0..65535 range, normalize = per-frame min..max",
      runtime=True, choices=DEPTH16_MODES),
    P("input.source", "camera",
      "Where faces come from: camera = detect them in `image`; hri = classify the face images "
      "a ROS4HRI detector publishes (<hri.prefix>/<id>/<input.hri_image>), no detector",
      choices=("camera", "hri")),
    P("input.hri_image", "aligned",
      "input.source hri: which face image of the ROS4HRI detector to classify",
      choices=("aligned", "cropped")),
    # --- outputs ---
    P("hri.enabled", True,
      "Publish REP-155 faces (<hri.prefix>/tracked, /<id>/roi, /<id>/expression); "
      "off, with one log line, when hri_msgs is not installed"),
    P("hri.prefix", "/humans/faces",
      "REP-155 faces namespace: /humans/faces for one camera (the REP), another for more"),
    P("detections.enabled", True,
      "Publish vision_msgs ~/detections and ~/label_info; off, with one log line, when "
      "vision_msgs is not installed"),
    P("annotate.enabled", True,
      "Publish ~/annotated (drawn only while it has subscribers)", runtime=True),
    P("diagnostics.warn_latency_ms", 200.0,
      "p95 arrival-to-publish latency above which diagnostics report WARN",
      runtime=True, range=(0.0, 1e6)),
    P("diagnostics.error_latency_ms", 1000.0,
      "p95 latency above which diagnostics report ERROR", runtime=True, range=(0.0, 1e6)),
    P("diagnostics.warn_drop_ratio", 0.5,
      "Fraction of input frames dropped (in the window) above which diagnostics WARN",
      runtime=True, range=(0.0, 1.0)),
    P("diagnostics.error_drop_ratio", 0.95,
      "Dropped fraction above which diagnostics report ERROR", runtime=True, range=(0.0, 1.0)),
    P("diagnostics.window_s", 10.0, "Window for rates, drop ratio and latency percentiles",
      runtime=True, range=(1.0, 3600.0)),
)
SPECS = {spec.name: spec for spec in PARAMETERS}


@dataclass(frozen=True)
class NodeConfig:
    """The node's typed settings, built from the parameter values."""

    pipeline: dict              # nested dict for core PipelineConfig.from_dict
    compressed: bool
    reliability: str
    depth: int
    depth16: str
    annotate: bool
    source: str
    hri_image: str
    hri_enabled: bool
    hri_prefix: str
    detections_enabled: bool
    warn_latency_ms: float
    error_latency_ms: float
    warn_drop_ratio: float
    error_drop_ratio: float
    window_s: float


def check_value(name: str, value: Any) -> Any:
    """Validate one parameter value; returns it (ints accepted for floats), else ConfigError."""
    spec = SPECS.get(name)
    if spec is None:
        raise ConfigError(f"unknown parameter {name!r}; known: {', '.join(SPECS)}")
    expected = type(spec.default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not expected:
        raise ConfigError(f"parameter {name} must be {expected.__name__}, "
                          f"got {type(value).__name__} {value!r}")
    if spec.range is not None and not spec.range[0] <= value <= spec.range[1]:
        raise ConfigError(f"parameter {name} = {value} is outside "
                          f"[{spec.range[0]}, {spec.range[1]}]")
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(f"parameter {name} = {value!r} is not one of {list(spec.choices)}")
    return value


_TOPIC_NAME = re.compile(r"(/[A-Za-z_][A-Za-z0-9_]*)+")


def check_consistency(values: dict[str, Any]) -> None:
    """Cross-parameter rules (warn limits below error limits, an absolute hri.prefix)."""
    if not _TOPIC_NAME.fullmatch(values["hri.prefix"]):
        raise ConfigError(f"hri.prefix {values['hri.prefix']!r} must be an absolute topic "
                          "namespace such as /humans/faces (letters, digits, _, no trailing /)")
    for kind in ("latency_ms", "drop_ratio"):
        warn, error = values[f"diagnostics.warn_{kind}"], values[f"diagnostics.error_{kind}"]
        if warn > error:
            raise ConfigError(f"diagnostics.warn_{kind} ({warn}) must not exceed "
                              f"diagnostics.error_{kind} ({error})")


def build_config(values: dict[str, Any]) -> NodeConfig:
    """Validated parameter values (name -> value) -> NodeConfig."""
    values = {name: check_value(name, values.get(name, SPECS[name].default)) for name in SPECS}
    check_consistency(values)
    return NodeConfig(
        pipeline=pipeline_dict(values),
        compressed=values["input.compressed"],
        reliability=values["input.reliability"],
        depth=values["input.depth"],
        depth16=values["input.depth16"],
        annotate=values["annotate.enabled"],
        source=values["input.source"],
        hri_image=values["input.hri_image"],
        hri_enabled=values["hri.enabled"],
        hri_prefix=values["hri.prefix"],
        detections_enabled=values["detections.enabled"],
        warn_latency_ms=values["diagnostics.warn_latency_ms"],
        error_latency_ms=values["diagnostics.error_latency_ms"],
        warn_drop_ratio=values["diagnostics.warn_drop_ratio"],
        error_drop_ratio=values["diagnostics.error_drop_ratio"],
        window_s=values["diagnostics.window_s"],
    )


def pipeline_dict(values: dict[str, Any]) -> dict:
    """``pipeline.a.b`` parameters -> {"a": {"b": value}} for PipelineConfig.from_dict."""
    nested: dict = {}
    for name, value in values.items():
        if not name.startswith("pipeline."):
            continue
        section, key = name[len("pipeline."):].split(".", 1)
        nested.setdefault(section, {})[key] = value
    return nested


def descriptor(spec: ParamSpec):
    """rcl_interfaces ParameterDescriptor for ``spec`` (restart-only ones are read-only)."""
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
    text = spec.description
    if spec.choices:
        text += f" (one of: {', '.join(spec.choices)})"
    if not spec.runtime:
        text += " [read-only: set it at start-up, e.g. in the params file]"
    desc = ParameterDescriptor(name=spec.name, description=text, read_only=not spec.runtime)
    if spec.range is not None and isinstance(spec.default, float):
        desc.floating_point_range = [FloatingPointRange(
            from_value=float(spec.range[0]), to_value=float(spec.range[1]), step=0.0)]
    elif spec.range is not None:
        desc.integer_range = [IntegerRange(
            from_value=int(spec.range[0]), to_value=int(spec.range[1]), step=1)]
    return desc


def declare_all(node) -> dict[str, Any]:
    """Declare every parameter on ``node``; returns name -> value (overrides applied)."""
    for spec in PARAMETERS:
        node.declare_parameter(spec.name, spec.default, descriptor(spec))
    return {spec.name: node.get_parameter(spec.name).value for spec in PARAMETERS}


def check_update(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Validate run-time changes against the current values; returns the merged values.

    Raises ConfigError with the reason (unknown, restart-only, type, range, consistency).
    """
    merged = dict(current)
    for name, value in changes.items():
        spec = SPECS.get(name)
        if spec is not None and not spec.runtime:
            raise ConfigError(f"{name} cannot change while the node runs; restart it with "
                              f"--ros-args -p {name}:=<value> or in the params file")
        merged[name] = check_value(name, value)
    check_consistency(merged)
    return merged
