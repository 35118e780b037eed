"""Parameter table and diagnostics grading (no ROS processes); the generated docs and
config/fer.yaml: test_params_doc.py."""
from __future__ import annotations

import pytest

from fer_ros.core.config import PipelineConfig
from fer_ros.core.errors import ConfigError
from fer_ros.ros import params
from fer_ros.ros.diagnostics import ERROR, OK, WARN, FrameStats, Limits, assess

def test_defaults_build_a_valid_pipeline_config():
    config = params.build_config({})
    pipeline = PipelineConfig.from_dict(config.pipeline)
    assert pipeline.to_dict() == PipelineConfig().to_dict()


def test_every_runtime_pipeline_parameter_is_runtime_in_the_core():
    from fer_ros.core.pipeline import RUNTIME_DETECTOR_FIELDS, RUNTIME_TRACKER_FIELDS
    runtime_core = {f"pipeline.detector.{f}" for f in RUNTIME_DETECTOR_FIELDS} | \
        {f"pipeline.tracker.{f}" for f in RUNTIME_TRACKER_FIELDS}
    runtime_node = {s.name for s in params.PARAMETERS
                    if s.runtime and s.name.startswith("pipeline.")}
    assert runtime_node <= runtime_core, runtime_node - runtime_core


@pytest.mark.parametrize("changes,needle", [
    ({"pipeline.classifier.backend": "torch"}, "restart"),
    ({"pipeline.detector.score_threshold": 2.0}, "outside"),
    ({"pipeline.detector.max_faces": 2.5}, "must be int"),
    ({"diagnostics.warn_drop_ratio": 0.99}, "must not exceed"),
    ({"input.depth16": "log"}, "not one of"),
])
def test_check_update_rejects_with_reason(changes, needle):
    current = {s.name: s.default for s in params.PARAMETERS}
    with pytest.raises(ConfigError, match=needle):
        params.check_update(current, changes)


def test_check_update_accepts_int_for_float():
    current = {s.name: s.default for s in params.PARAMETERS}
    merged = params.check_update(current, {"pipeline.detector.score_threshold": 1})
    assert merged["pipeline.detector.score_threshold"] == 1.0


def test_frame_stats_rates_drops_and_percentiles():
    stats = FrameStats()
    for i in range(100):          # 10 Hz for 10 s, every other frame dropped
        t = i * 0.1
        stats.arrived(t)
        if i % 2:
            stats.dropped(t)
        else:
            stats.processed(t, t + 0.001 * (i + 1), faces=1)
    snap = stats.snapshot(now=10.0, window_s=10.0)
    assert snap.input_hz == pytest.approx(10.0, abs=0.2)
    assert snap.processed_hz == pytest.approx(5.0, abs=0.2)
    assert snap.drop_ratio == pytest.approx(0.5, abs=0.02)
    assert 45 <= snap.latency_p50_ms <= 55 and snap.latency_p99_ms <= 100
    limits = Limits(warn_latency_ms=200, error_latency_ms=1000, warn_drop_ratio=0.4,
                    error_drop_ratio=0.9)
    assert assess(snap, limits)[0] == WARN
    assert assess(snap, Limits(200, 1000, 0.6, 0.9)) == (OK, "ok")
    assert assess(snap, Limits(10, 20, 0.6, 0.9))[0] == ERROR
    assert "no images" in assess(stats.snapshot(now=100.0, window_s=10.0), limits)[1]


def test_frames_lost_before_the_node_count_as_input_and_drops():
    stats = FrameStats()
    stats.arrived(1.0)
    stats.processed(1.0, 1.1, faces=0)
    stats.lost(2.0, 3)       # publication sequence jumped by 4
    stats.arrived(2.0)
    stats.processed(2.0, 2.1, faces=0)
    snap = stats.snapshot(now=2.5, window_s=10.0)
    assert (snap.received_total, snap.lost_total, snap.dropped_total) == (2, 3, 3)
    assert snap.input_hz == pytest.approx(0.5) and snap.drop_ratio == pytest.approx(0.6)
