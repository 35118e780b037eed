"""The core benchmark runs end to end and writes the JSON others read (no speed asserts:
speed goals live in the benchmark's output, not in timed tests)."""
import json


def test_core_benchmark_writes_its_json(shared_dir, tmp_path, default_bundle):
    from fer_ros.bench.core_bench import main

    out = tmp_path / "core.json"
    assert main(["--json", str(out), "--frames", "3", "--warmup", "1", "--faces", "1", "3",
                 "--detect-max-side", "0", "320", "--batch", "8"]) == 0
    report = json.loads(out.read_text())
    assert report["backend"] == "onnxruntime-cpu" and report["environment"]["threads"] == 2
    runs = {(r["faces_per_frame"], r["detect_max_side"]): r for r in report["pipeline"]}
    assert set(runs) == {(1, 0), (3, 0), (1, 320), (3, 320)}
    for run in runs.values():
        assert set(run["stages_ms"]) >= {"detect", "preprocess", "classify", "track", "total"}
        assert run["fps"] > 0 and run["stages_ms"]["total"]["median"] > 0
    assert runs[(3, 0)]["faces_found_mean"] >= 2  # real faces were placed and found
    assert report["classifier"]["batch"] == 8 and report["classifier"]["latency_ms"]["median"] > 0
    assert set(report["detectors_3_faces_full_frame"]) == {"yunet", "yunet_opencv", "haar"}
