"""`fer-ros benchmark` smoke runs: the JSON has every headline key, figures come from real
runs and a section that cannot run is null with its reason. Not a timed test: speed goals
are checked by reading benchmarks/latest.json, not here."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest


pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

HEADLINE = ("detect_classify_fps_vga_3faces", "detect_classify_fps_vga_3faces_unrelated",
            "detect_classify_fps_vga_3faces_fp32",
            "node_dds_fps", "node_latency_ms_p50", "node_latency_ms_p99",
            "node_cpu_ms_per_frame_30fps", "peer_fer_fps", "peer_fer_speed_ratio")


def benchmark(tmp_path, env, *args: str) -> dict:
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "-m", "fer_ros", "benchmark", "--json", str(out),
                           "--tiny", *args], env=env, text=True, capture_output=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert set(HEADLINE) <= set(result), f"missing keys: {set(HEADLINE) - set(result)}"
    assert json.loads(done.stdout) == {k: result[k] for k in HEADLINE}
    return result


def test_core_section_and_machine_info(shared_dir, default_bundle, tmp_path, ros_env):
    result = benchmark(tmp_path, ros_env, "--skip", "node", "peer")
    assert result["detect_classify_fps_vga_3faces"] > 0
    assert result["detect_classify_fps_vga_3faces_fp32"] > 0
    assert result["detect_classify_fps_vga_3faces_unrelated"] > 0
    cases = {(c["faces_per_frame"], c["frames"]): c for c in result["core"]["pipeline"]}
    # defaults on a camera stream: the detector searches 1 frame in 10 and finds every face
    stream, unrelated = cases[(3, "stream")], cases[(3, "unrelated")]
    assert stream["full_detection_share"] <= 0.6 and stream["faces_found_mean"] >= 2.9, stream
    assert unrelated["full_detection_share"] == 1.0, unrelated  # a new scene: searched whole
    # defaults run the bundle's INT8 network on this CPU; the fp32 key its fp32 one
    assert result["core"]["network"] == "int8" and result["fp32"]["network"] == "fp32"
    cases = {(c["faces_per_frame"], c["detect_max_side"]) for c in result["core"]["pipeline"]}
    assert {(1, 0), (3, 0), (10, 0)} <= cases
    recall = result["detection_recall"]
    assert recall["lost_vs_reference"]["defaults"] == {}, recall["lost_vs_reference"]
    totals = recall["stream_found_32px_and_larger"]  # moving faces: followed vs searched
    assert recall["stream"] and all(0 <= v <= 1 for v in totals.values()), recall["stream"]
    large = [r for r in recall["per_setting"]["defaults"] if r["frame"] == "1920x1080"]
    assert large and all(r["found"] == 1.0 for r in large), large
    env = result["environment"]
    assert env["cpu_count"] >= 1 and env["processor"] and env["date"]
    for name, key in (("node", "node_dds_fps"), ("peer", "peer_fer_fps")):
        assert result[key] is None and result[f"{name}_null_reason"] == "skipped with --skip"


def test_repeat_reports_the_median_of_the_runs(shared_dir, default_bundle, tmp_path, ros_env):
    result = benchmark(tmp_path, ros_env, "--repeat", "3", "--skip", "fp32", "recall", "node",
                       "peer")
    runs = [r["detect_classify_fps_vga_3faces"] for r in result["repeats"]]
    assert len(runs) == 3 and all(v > 0 for v in runs), result["repeats"]
    assert result["detect_classify_fps_vga_3faces"] == round(sorted(runs)[1], 2), (
        f"headline {result['detect_classify_fps_vga_3faces']} is not the median of {runs}")
    assert result["node_dds_fps"] is None and all(r["node_dds_fps"] is None
                                                  for r in result["repeats"])
    assert result["headline"].startswith("median of 3 runs")


def test_missing_peer_environment_is_null_with_reason(shared_dir, default_bundle, tmp_path,
                                                      ros_env):
    result = benchmark(tmp_path, ros_env, "--skip", "core", "fp32", "recall", "node",
                       "--peer-python", str(tmp_path / "no" / "python"))
    assert result["peer_fer_fps"] is None and result["peer_fer_speed_ratio"] is None
    assert "not found" in result["peer_fer_null_reason"]
    for kind in ("stream", "unrelated"):  # fer_ros' own side still measured
        assert result["peer"][kind]["fer_ros"]["fps"] > 0, result["peer"]


@pytest.mark.ros
def test_node_section_through_dds(shared_dir, default_bundle, tmp_path, ros_env, repo_root):
    if not (repo_root / "install" / "fer_ros" / "lib" / "fer_ros" / "fer_node").is_file():
        pytest.fail("fer_node is not installed: run make setup")
    result = benchmark(tmp_path, ros_env, "--skip", "core", "fp32", "recall", "peer")
    node = result["node"]
    assert result["node_dds_fps"] > 0 and node["replies"] > 0, node
    assert 0 < result["node_latency_ms_p50"] <= result["node_latency_ms_p99"], node
    assert node["latency_replies"] > 0
    assert result["node_cpu_ms_per_frame_30fps"] > 0 and node["cpu_phase_replies"] > 0, node
    assert node["faces_per_reply_mean"] >= 2, f"the node missed the stream's 3 faces: {node}"


def test_search_in_background_compares_both_settings(shared_dir, default_bundle, tmp_path,
                                                     ros_env, repo_root):
    if not (repo_root / "install" / "fer_ros" / "lib" / "fer_ros" / "fer_node").is_file():
        pytest.fail("fer_node is not installed: run make setup")
    out = tmp_path / "background.json"
    done = subprocess.run([sys.executable, "-m", "fer_ros.bench.search_in_background",
                           "--json", str(out), "--repeats", "1", "--seconds", "2"],
                          env=ros_env, text=True, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    for name in ("background", "in_frame"):
        row = report["median"][name]
        assert row["node_dds_fps"] > 0 and 0 < row["node_latency_ms_p50"] <= \
            row["node_latency_ms_p99"], f"{name}: {row}"
        assert row["node_cpu_ms_per_frame_30fps"] > 0, f"{name}: {row}"
