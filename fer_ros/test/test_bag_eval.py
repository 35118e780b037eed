"""`fer-ros bag-eval` on real recordings: the sample bag with its truth, raw and compressed
image topics, a truncated bag, and the result bag it writes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bag_helpers import REPO, fer2013_csv, small_bag

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

SAMPLE_TOPIC = "/camera/image_raw/compressed"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO / "fer_ros"))
    return subprocess.run([sys.executable, "-m", "fer_ros", *args], env=env, text=True,
                          capture_output=True, timeout=600)


@pytest.fixture(scope="module")
def sample(shared_dir):
    from fer_ros.bag.make_sample import ensure_sample
    return ensure_sample(csv_path=fer2013_csv(shared_dir))


@pytest.fixture(scope="module")
def sample_report(sample, default_bundle, tmp_path_factory):
    """bag-eval of the whole sample bag with its truth, through the real command line."""
    bundle = default_bundle.path
    bag, truth = sample
    out = tmp_path_factory.mktemp("eval")
    done = run_cli("bag-eval", str(bag), "--out", str(out), "--truth", str(truth),
                   "--json", str(out / "copy.json"), "--no-progress", "--model", str(bundle))
    assert done.returncode == 0, f"bag-eval failed ({done.returncode}):\n{done.stderr[-3000:]}"
    report = json.loads((out / "report.json").read_text())
    assert json.loads((out / "copy.json").read_text()) == report
    return report, done.stdout, bundle


def test_sample_bag_is_deterministic_and_small(sample, shared_dir, tmp_path):
    from fer_ros.bag.make_sample import build_sample
    bag, truth = sample
    again, again_truth = build_sample(tmp_path / "again", fer2013_csv(shared_dir), quiet=True)
    from fer_ros.bag.reader import BagImageReader

    def messages(path):  # the mcap summary names the file, so compare the messages
        return [(m.topic, m.log_time_ns, m.msg) for m in BagImageReader(path, deserialize=False)]
    assert messages(again) == messages(bag), "same seed, different frames"
    assert json.loads(again_truth.read_text()) == json.loads(truth.read_text())
    size_mb = (bag / f"{bag.name}.mcap").stat().st_size / 1e6
    assert size_mb < 8, f"sample bag is {size_mb:.1f} MB; keep it a few MB"


def test_sample_truth_uses_public_test_faces_only(sample):
    frames = json.loads(sample[1].read_text())["frames"]
    sources = {f["source"] for fr in frames for f in fr["faces"]}
    assert len(frames) == 300 and len(sources) > 50
    assert all(s.startswith("fer2013:PublicTest:") for s in sources)
    assert sum(not fr["faces"] for fr in frames) >= 20, "the sample needs frames with no face"


def test_sample_accuracy_close_to_model_test_accuracy(sample_report, sample):
    """Accuracy on detected faces of the bag vs. the same faces' 48 px crops classified
    directly: a gap means detection or preprocessing is broken."""
    report, stdout, bundle = sample_report
    score = report["truth"][SAMPLE_TOPIC]
    assert score["truth_faces"] == sum(len(f["faces"]) for f in
                                       json.loads(sample[1].read_text())["frames"])
    assert score["detection_recall"] >= 0.85, f"detector found too few faces: {score}"
    assert score["false_positives"] <= 0.05 * score["truth_faces"], score
    reference = crop_accuracy(sample[1], bundle)
    assert abs(score["accuracy"] - reference) <= 0.10, (
        f"bag accuracy {score['accuracy']:.3f} vs {reference:.3f} on the same faces' dataset "
        "crops: detection boxes or preprocessing differ from training")
    model_acc = json.loads((Path(bundle) / "model.json").read_text())["metrics"].get(
        "fer2013_publictest_accuracy")
    if model_acc is not None:
        assert abs(score["accuracy"] - model_acc) <= 0.15, (score["accuracy"], model_acc)
    assert "accuracy on detected faces" in stdout and "confusion" in stdout


def crop_accuracy(truth_path: Path, bundle) -> float:
    """Accuracy of the bundle on the original 48x48 crops, weighted by frames shown."""
    from fer_ros.bag.make_sample import FER2013_CSV, load_public_test
    from fer_ros.core.bundle import load_bundle
    from fer_ros.core.classify import select_backend
    from fer_ros.core.config import ClassifierConfig
    from fer_ros.core.preprocess import face_to_tensor
    loaded = load_bundle(bundle)
    backend = select_backend(ClassifierConfig(backend="onnxruntime", device="cpu"), loaded)
    images, labels = load_public_test(FER2013_CSV)
    shown = [int(f["source"].rsplit(":", 1)[1]) for fr in
             json.loads(truth_path.read_text())["frames"] for f in fr["faces"]]
    batch = np.stack([face_to_tensor(images[i], loaded.input_spec) for i in shown])
    from fer_ros.core.fer2013 import FER2013_LABELS
    from fer_ros.core.labels import canonical_label
    # compared by name through the synonym table: the bundle may be an 8-class FER+ model
    predicted = [canonical_label(loaded.labels[k]) for k in backend.infer(batch).argmax(1)]
    truth = [canonical_label(FER2013_LABELS[labels[i]]) for i in shown]
    return float(np.mean([p == t for p, t in zip(predicted, truth)]))


def test_sample_report_contents(sample_report):
    report, stdout, _ = sample_report
    topic = report["topics"][SAMPLE_TOPIC]
    assert report["frames"] == topic["frames"] == 300 and report["damage"] is None
    assert topic["emotions_topic"] == "/camera/emotions"
    assert topic["faces"] > 300 and len(topic["tracks"]) > 40
    assert topic["frames_with_faces"] < topic["frames"]
    for stage in ("decode", "detect", "preprocess", "classify", "track", "total"):
        stats = topic["latency_ms"][stage]
        assert stats["count"] > 0 and 0 <= stats["p50"] <= stats["p90"] <= stats["p99"], stage
    assert report["fps"] > 0 and sum(topic["label_counts"].values()) == topic["faces"]
    assert "latency ms" in stdout


def test_result_bag_lines_up_with_source(sample_report, sample):
    """EmotionArray per image, with the source header stamp, log time and model labels."""
    from fer_ros.bag.reader import BagImageReader
    from fer_ros.bag.typestore import EMOTION_ARRAY, typestore
    from rosbags.highlevel import AnyReader
    report, _, _ = sample_report
    source = [(m.log_time_ns, m.msg.header.stamp) for m in BagImageReader(sample[0])]
    with AnyReader([Path(report["result_bag"])], default_typestore=typestore()) as reader:
        assert [(c.topic, c.msgtype) for c in reader.connections] == \
            [("/camera/emotions", EMOTION_ARRAY)]
        results = [(t, reader.deserialize(raw, c.msgtype)) for c, t, raw in reader.messages()]
    assert [t for t, _ in results] == [t for t, _ in source]
    assert all(m.header.stamp == s for (_, m), (_, s) in zip(results, source))
    faces = [f for _, m in results for f in m.faces]
    assert len(faces) == report["faces"]
    labels = report["model"]["labels"]
    assert all(list(m.labels) == labels for _, m in results)
    assert all(f.label == labels[int(np.argmax(f.scores))] for f in faces)


def test_raw_and_compressed_topics(shared_dir, default_bundle, tmp_path):
    """A bag with both a bgr8 Image and a jpeg CompressedImage topic of one camera."""
    bundle = default_bundle.path
    from fer_ros.bag.evaluate import evaluate_bag
    bag, truth = small_bag(tmp_path, fer2013_csv(shared_dir), seconds=1.0)
    report = evaluate_bag(bag, tmp_path / "out", truth_path=truth, model=str(bundle),
                          progress=False)
    raw, jpeg = report["topics"]["/camera/image_raw"], report["topics"][SAMPLE_TOPIC]
    assert raw["frames"] == jpeg["frames"] == 15
    assert raw["emotions_topic"] == "/camera/emotions"
    assert jpeg["emotions_topic"] == "/camera/image_raw/compressed/emotions"
    for topic in ("/camera/image_raw", SAMPLE_TOPIC):
        assert report["truth"][topic]["detection_recall"] >= 0.8, report["truth"][topic]
    # the same pixels (up to jpeg loss) give the same detections
    assert abs(raw["faces"] - jpeg["faces"]) <= 2


def test_topic_selection_and_unknown_topic(shared_dir, default_bundle, tmp_path):
    bag, _ = small_bag(tmp_path, fer2013_csv(shared_dir), seconds=0.4)
    done = run_cli("bag-eval", str(bag), "--out", str(tmp_path / "a"), "--topics",
                   "/camera/image_raw", "--no-progress")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert list(report["topics"]) == ["/camera/image_raw"]
    done = run_cli("bag-eval", str(bag), "--out", str(tmp_path / "b"), "--topics", "/nope")
    assert done.returncode == 2 and "/nope" in done.stderr and "/camera/image_raw" in done.stderr


def test_truncated_bag_gives_results_up_to_the_damage(shared_dir, default_bundle, tmp_path):
    """Cut the mcap file in the middle: the frames before the cut are evaluated, the
    command says what was lost and exits 3; it never hangs (subprocess timeout)."""
    bag, truth = small_bag(tmp_path, fer2013_csv(shared_dir), seconds=2.0, raw=False)
    mcap = bag / f"{bag.name}.mcap"
    full = mcap.stat().st_size
    os.truncate(mcap, full // 2)
    done = run_cli("bag-eval", str(bag), "--out", str(tmp_path / "out"), "--truth", str(truth),
                   "--no-progress")
    assert done.returncode == 3, done.stderr
    assert "the rest of the recording is lost" in done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["salvaged"] and report["damage"]
    frames = report["topics"][SAMPLE_TOPIC]["frames"]
    assert 0 < frames < 30, f"expected part of the 30 frames, got {frames}"
    assert report["truth"][SAMPLE_TOPIC]["frames_scored"] == frames


def test_not_a_bag_is_a_clear_error(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.mcap").write_bytes(b"not an mcap file at all")
    done = run_cli("bag-eval", str(tmp_path / "junk"), "--out", str(tmp_path / "o"))
    assert done.returncode == 2, done.stderr
    assert "cannot be read" in done.stderr and "not an mcap file" in done.stderr
    done = run_cli("bag-eval", str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "does not exist" in done.stderr


def test_bad_truth_file_names_the_problem(shared_dir, tmp_path):
    from fer_ros.bag.truth import read_truth
    from fer_ros.core.errors import InputError
    bad = tmp_path / "t.json"
    bad.write_text('{"format": "fer_ros.truth", "format_version": 1, '
                   '"frames": [{"stamp_ns": 1, "faces": [{"box": [0, 0, 0, 5]}]}]}')
    with pytest.raises(InputError, match=r"t.json: frames\[0\] is malformed"):
        read_truth(bad)
