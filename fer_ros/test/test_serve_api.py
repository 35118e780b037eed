"""`fer-ros serve` HTTP API on a real server process, with photos made from CK+ faces."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from fer_ros.core.labels import canonical_label

from serve_helpers import (ck_scene, detect, jpeg, multipart, request, require_shared,
                           running_server, write_photo)

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]
EMOTION_FIELDS = {"face_id", "roi", "detector_score", "label", "confidence", "scores"}
UNTRACKED = 0xFFFFFFFF


@pytest.fixture(scope="module")
def server():
    require_shared()
    # a 2 MB upload cap keeps the oversized-upload test small
    with running_server("--max-upload-mb", "2") as (url, process):
        yield url


@pytest.mark.parametrize("label", ["happy", "surprise"])
@pytest.mark.parametrize("index", [0, 1, 2])
def test_ckplus_faces_get_their_label(server, label, index):
    status, doc = detect(server, jpeg(ck_scene(label, index)), f"{label}{index}.jpg")
    assert status == 200, doc
    got = [(f["label"], f["confidence"]) for f in doc["faces"]]
    assert len(doc["faces"]) == 1, f"expected one face in the {label} photo, got {got}"
    face = doc["faces"][0]
    assert canonical_label(face["label"]) == label, f"CK+ {label} face #{index} read as {got}"
    assert set(face) == EMOTION_FIELDS, f"not the EmotionArray field names: {sorted(face)}"
    assert face["face_id"] == UNTRACKED, "a single photo is not tracked"
    assert set(face["roi"]) == {"x_offset", "y_offset", "width", "height", "do_rectify"}
    assert face["roi"]["width"] > 100 and face["roi"]["height"] > 100, face["roi"]
    assert len(face["scores"]) == len(doc["labels"]) and abs(sum(face["scores"]) - 1) < 0.01
    assert doc["labels"][int(np.argmax(face["scores"]))] == face["label"]
    assert doc["model_name"] and doc["model_version"]


def test_rows_and_csv_are_those_of_fer_ros_detect(server, tmp_path):
    """The page's downloads: /api/detect rows and /api/csv text equal `fer-ros detect`'s."""
    photo = write_photo(tmp_path, "happy.png", ck_scene("happy", 0))
    out_json, out_csv = tmp_path / "detect.json", tmp_path / "detect.csv"
    done = subprocess.run([sys.executable, "-m", "fer_ros", "detect", str(photo), "--json",
                           str(out_json), "--csv", str(out_csv), "--no-progress"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    cli_rows = json.loads(out_json.read_text())["faces"]
    status, doc = detect(server, photo.read_bytes(), "happy.png", f"?file={photo}")
    assert status == 200, doc
    assert doc["rows"] == cli_rows, "the API's rows differ from fer-ros detect --json"
    status, text = request(f"{server}api/csv", json.dumps({"rows": doc["rows"]}).encode(),
                           "application/json")
    assert status == 200, text
    assert text == out_csv.read_bytes(), "the API's CSV differs from fer-ros detect --csv"


def test_model_endpoint_names_model_and_accuracy(server, default_bundle):
    status, raw = request(f"{server}api/model")
    info = json.loads(raw)
    assert status == 200
    assert (info["model_name"], info["model_version"]) == (default_bundle.name,
                                                           default_bundle.version)
    assert info["labels"] == list(default_bundle.labels)
    dataset = default_bundle.metadata["training"]["dataset"]  # fer2013 or ferplus
    assert 0.5 < info["metrics"][f"{dataset}_publictest_accuracy"] < 1.0, info["metrics"]
    assert info["live_topic"] == "", "no --image-topic was given"


def test_corrupt_image_is_refused_with_a_message(server):
    data = jpeg(ck_scene("happy", 0))
    broken = data[:20] + bytes(len(data) - 20)  # a JPEG header, then zeros
    status, doc = detect(server, broken, "broken.jpg")
    assert status == 415, doc
    assert "broken.jpg" in doc["error"] and "not a readable image" in doc["error"], doc


def test_non_image_upload_is_refused(server):
    status, doc = detect(server, b"%PDF-1.4 this is not a photo\n" * 50, "notes.pdf")
    assert status == 415 and "notes.pdf" in doc["error"], doc


def test_empty_file_and_missing_field_are_refused(server):
    status, doc = detect(server, b"", "empty.jpg")
    assert status == 400 and "empty" in doc["error"], doc
    body, ctype = multipart({"photo": ("a.jpg", jpeg(ck_scene("happy", 0)))})
    status, raw = request(f"{server}api/detect", body, ctype)
    assert status == 400 and "'file'" in json.loads(raw)["error"], raw
    status, raw = request(f"{server}api/detect", b"raw bytes", "image/jpeg")
    assert status == 415 and "multipart/form-data" in json.loads(raw)["error"], raw
    status, raw = request(f"{server}api/detect", b"--xyz\r\nno headers here\x00\r\n\r\n",
                          "multipart/form-data; boundary=xyz")
    assert status == 400, raw


def test_image_with_too_many_pixels_is_refused_before_decoding(server):
    # 9000x9000 = 81 MP > the 40 MP default; as a PNG of one colour it is only ~100 KB
    ok, data = cv2.imencode(".png", np.zeros((9000, 9000), np.uint8))
    assert ok and data.size < 2 * 1024 * 1024
    status, doc = detect(server, data.tobytes(), "huge.png")
    assert status == 413, doc
    assert "huge.png" in doc["error"] and "megapixels" in doc["error"], doc


def test_upload_above_the_size_cap_is_refused(server):
    noise = np.random.default_rng(0).integers(0, 256, (1200, 1200, 3), np.uint8)
    ok, data = cv2.imencode(".png", noise)  # ~4 MB of incompressible pixels
    assert ok and data.size > 2 * 1024 * 1024
    status, doc = detect(server, data.tobytes(), "big.png")
    assert status == 413 and "limit of 2 MB" in doc["error"], doc


def test_tiny_image_is_refused_with_the_core_message(server):
    status, doc = detect(server, jpeg(np.zeros((8, 8, 3), np.uint8)), "tiny.jpg")
    assert status == 422 and "tiny.jpg" in doc["error"] and "16x16" in doc["error"], doc


def test_concurrent_requests_all_get_their_own_answer(server):
    jobs = [(label, i) for label in ("happy", "surprise") for i in range(4)]
    photos = {job: jpeg(ck_scene(*job)) for job in jobs}

    def send(job):
        return job, detect(server, photos[job], f"{job[0]}{job[1]}.jpg")

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(send, jobs))
    for (label, i), (status, doc) in answers:
        assert status == 200, doc
        assert [canonical_label(f["label"]) for f in doc["faces"]] == [label], \
            f"{label} #{i}: {doc['faces']}"
        assert doc["rows"][0]["file"] == f"{label}{i}.jpg", "answers were mixed up"


def test_stream_frames_are_tracked(server):
    """Frames of one webcam/video stream go through a tracking pipeline: one face keeps one id."""
    frame = jpeg(ck_scene("happy", 0))
    ids = []
    for n in range(3):
        status, doc = detect(server, frame, "cam", f"?stream=test-cam&frame={n}")
        assert status == 200, doc
        ids.append(doc["faces"][0]["face_id"])
    assert ids[0] != UNTRACKED and len(set(ids)) == 1, f"track ids over 3 frames: {ids}"


def test_requests_for_other_host_names_are_refused(server):
    """DNS rebinding guard: a localhost-bound server answers only localhost names."""
    status, _ = request(f"{server}api/model", headers={"Host": "attacker.example"})
    assert status == 400


def test_live_endpoints_say_how_to_enable_them(server):
    status, raw = request(f"{server}api/live/state")
    assert status == 404 and "--image-topic" in json.loads(raw)["error"]


def test_page_and_its_assets_are_served_locally(server):
    status, page = request(server)
    assert status == 200 and b"/static/app.js" in page
    for asset in ("app.js", "style.css"):
        status, body = request(f"{server}static/{asset}")
        assert status == 200 and body, asset
    # offline: the page loads nothing from another host
    for text in (page, request(f"{server}static/app.js")[1],
                 request(f"{server}static/style.css")[1]):
        assert b"http://" not in text.replace(b"http://www.w3.org/2000/svg", b"") \
            and b"https://" not in text, "the page must not load assets from the network"


def test_binding_beyond_localhost_is_announced(tmp_path):
    require_shared()
    with running_server("--host", "0.0.0.0") as (url, process):
        status, _ = request(url.replace("0.0.0.0", "127.0.0.1") + "api/model")
        assert status == 200
        from serve_helpers import output
        assert "WARNING: listening on 0.0.0.0" in output(process), output(process)


def test_bad_model_path_fails_at_start_with_a_message(tmp_path):
    done = subprocess.run([sys.executable, "-m", "fer_ros", "serve", "--port", "0", "--model",
                           str(tmp_path / "nope")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "error:" in done.stderr and "nope" in done.stderr, done.stderr
