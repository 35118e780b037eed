"""`fer-ros detect` end to end on files made from real FER2013 PublicTest faces.

Photos and a video are composed from ../shared faces and written to a temporary
folder; the real command runs them through the default bundle; the tests check
the rows against where the faces were placed, the annotated copies, tracking in
the video, skipping of bad inputs and the --labels scoring.
"""
import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_ros.cli import main as fer_ros_main
from fer_ros.core.labels import canonical_label
from fer_ros.core.types import Box

import faces

# Dataset spellings on purpose: the synonym table must map them to the model's names.
SPELLING = {"angry": "anger", "disgust": "disgusted", "fear": "fearful", "happy": "happiness",
            "sad": "sadness", "surprise": "surprised", "neutral": "Neutral"}
PHOTOS, VIDEO_FRAMES = 12, 10


@pytest.fixture(scope="module")
def bundle(default_bundle):
    return default_bundle


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, shared_dir, bundle):
    """photos/ (one face each; one blank; one corrupt), clip.mp4 (2 faces), labels.csv."""
    root = tmp_path_factory.mktemp("detect")
    (root / "photos" / "sub").mkdir(parents=True)
    images, labels = faces.fer2013_faces("PublicTest", limit=PHOTOS + 2)
    truth, rows = {}, ["file,label"]
    for i in range(PHOTOS):
        scene = faces.compose_frame([images[i]], [int(labels[i])], frame_size=(320, 240),
                                    face_px=(120, 160), seed=i)
        path = root / "photos" / ("sub" if i % 2 else "") / f"face_{i:02d}.png"
        cv2.imwrite(str(path), scene.image)
        truth[path] = scene.boxes[0]
        rows.append(f"{path.relative_to(root).as_posix()},"
                    f"{SPELLING[faces.FER2013_LABELS[labels[i]]]}")
    blank = root / "photos" / "blank.jpg"  # background only: no face -> scored as wrong
    cv2.imwrite(str(blank), faces.textured_background(320, 240, np.random.default_rng(7)))
    rows.append("photos/blank.jpg,happy")
    (root / "photos" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    rows.append("photos/corrupt.jpg,sad")
    rows[1] = "photos/face_00.png,bored"  # unknown label: reported, never guessed
    (root / "labels.csv").write_text("\n".join(rows) + "\n")

    scene = faces.compose_frame(images[PHOTOS:PHOTOS + 2], list(labels[PHOTOS:PHOTOS + 2]),
                                frame_size=(480, 360), face_px=130, seed=3)
    writer = cv2.VideoWriter(str(root / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10,
                             (480, 360))
    for _ in range(VIDEO_FRAMES):
        writer.write(scene.image)
    writer.release()
    return {"root": root, "truth": truth, "video_boxes": scene.boxes}


def _detect(*argv) -> int:
    return fer_ros_main(["detect", "--no-progress", *map(str, argv)])


@pytest.fixture(scope="module")
def run(dataset):
    root = dataset["root"]
    code = _detect(root / "photos", root / "clip.mp4", root / "missing.jpg",
                   "--out", root / "out", "--json", root / "faces.json",
                   "--csv", root / "faces.csv", "--labels", root / "labels.csv",
                   "--video-stride", 2)
    return code, json.loads((root / "faces.json").read_text())


def test_every_placed_photo_face_is_found_where_it_was_put(dataset, run):
    code, doc = run
    assert code == 0, "bad files must be skipped, not fail the run"
    for path, box in dataset["truth"].items():
        found = [Box(*r["box"]) for r in doc["faces"] if r["file"] == str(path)]
        assert len(found) == 1, f"{path.name}: expected 1 face, got {len(found)}"
        assert faces.match_boxes([box], found) == [0], f"{path.name}: box {found[0]} != {box}"
    rows = [r for r in doc["faces"] if r["frame"] == 0 and r["file"].endswith(".png")]
    for r in rows:
        assert r["track_id"] == -1, "photos are independent: no track ids"
        assert r["label"] in doc["labels"] and sum(r["scores"].values()) == pytest.approx(1, 1e-3)
        assert r["confidence"] == pytest.approx(max(r["scores"].values()), abs=1e-4)


def test_bad_inputs_are_reported_and_skipped(dataset, run):
    _, doc = run
    status = {Path(f["file"]).name: f for f in doc["files"]}
    assert "corrupt.jpg" in status["corrupt.jpg"]["error"]
    assert "not a readable image" in status["corrupt.jpg"]["error"]
    assert status["blank.jpg"]["error"] == "" and status["blank.jpg"]["faces"] == 0
    assert doc["problems"] == [{"input": str(dataset["root"] / "missing.jpg"),
                                "error": "no such file or folder"}]
    assert doc["summary"]["photos"] == PHOTOS + 1 and doc["summary"]["skipped"] == 1


def test_video_faces_keep_their_track_ids(dataset, run):
    _, doc = run
    rows = [r for r in doc["faces"] if r["file"].endswith("clip.mp4")]
    frames = sorted({r["frame"] for r in rows})
    assert frames == list(range(0, VIDEO_FRAMES, 2)), "--video-stride 2: every 2nd frame"
    ids = {r["track_id"] for r in rows}
    assert len(ids) == 2 and min(ids) >= 0, f"two still faces -> two stable ids, got {ids}"
    for frame in frames:
        assert len([r for r in rows if r["frame"] == frame]) == 2


def test_annotated_copies_and_csv(dataset, run):
    root, (_, doc) = dataset["root"], run
    for path in dataset["truth"]:
        copy = root / "out" / "photos" / path.relative_to(root / "photos")
        drawn, original = cv2.imread(str(copy)), cv2.imread(str(path))
        assert drawn is not None and drawn.shape == original.shape, f"missing {copy}"
        assert np.abs(drawn.astype(int) - original).sum() > 0, f"{copy} has no drawing"
    video = cv2.VideoCapture(str(root / "out" / "clip.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == VIDEO_FRAMES, "all frames written"
    with open(root / "faces.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(doc["faces"])
    assert {f"score_{n}" for n in doc["labels"]} <= set(table[0])


def test_labels_scoring_with_synonyms_no_face_and_unknown_label(dataset, run):
    _, doc = run
    score = doc["score"]
    assert score["unmatched_labels"] == {"bored": 1}
    assert score["photos_labelled"] == PHOTOS + 2
    # face_00 (unknown label) and corrupt.jpg are not scored; blank.jpg counts as wrong
    assert score["photos_scored"] == PHOTOS
    assert score["unreadable"] == [str(dataset["root"] / "photos" / "corrupt.jpg")]
    assert score["photos_with_face"] == PHOTOS - 1
    assert score["face_found_rate"] == pytest.approx((PHOTOS - 1) / PHOTOS)
    happy = [canonical_label(n) for n in doc["labels"]].index("happy")
    assert score["confusion"][happy][-1] == 1, "blank photo in the (no face) column"
    # recompute accuracy from the face rows and the labels CSV, independently
    truth = {}
    with open(dataset["root"] / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            truth[str((dataset["root"] / row["file"]).resolve())] = canonical_label(row["label"])
    correct = sum(truth.get(str(Path(r["file"]).resolve())) == canonical_label(r["label"])
                  for r in doc["faces"] if r["file"].endswith(".png"))
    assert score["correct"] == correct
    assert score["accuracy_all_photos"] == pytest.approx(correct / PHOTOS)
    assert score["accuracy_photos_with_face"] == pytest.approx(correct / (PHOTOS - 1))


def test_empty_folder_is_reported_not_fatal(dataset, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert _detect(tmp_path / "empty") == 1, "nothing processed at all -> exit code 1"
    assert "folder holds no image or video files" in capsys.readouterr().err
    photo = next(iter(dataset["truth"]))
    assert _detect(tmp_path / "empty", photo) == 0, "an empty folder beside a photo is skipped"
    assert "folder holds no image or video files" in capsys.readouterr().err


def test_file_without_known_extension_is_tried_as_image(dataset, tmp_path):
    path = tmp_path / "snapshot.data"
    path.write_bytes(next(iter(dataset["truth"])).read_bytes())  # a PNG under another name
    assert _detect(path, "--json", tmp_path / "f.json") == 0
    doc = json.loads((tmp_path / "f.json").read_text())
    assert doc["files"][0]["kind"] == "image" and len(doc["faces"]) == 1


def test_bad_model_is_a_clear_error(dataset, tmp_path, capsys):
    photo = next(iter(dataset["truth"]))
    assert _detect(photo, "--model", tmp_path / "nope") == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "nope") in err and "is not a model bundle" in err
    assert len(err.splitlines()) == 1, f"a usage error is one stderr line, got:\n{err}"


def test_runs_without_torch_or_rclpy(dataset, tmp_path):
    """The robot runtime has neither: detect must not import them (checked in a child process
    where importing them fails)."""
    import subprocess
    import sys
    photo = next(iter(dataset["truth"]))
    code = ("import sys\n"
            "for name in ('torch', 'torchvision', 'rclpy'): sys.modules[name] = None\n"
            "from fer_ros.cli import main\n"
            f"sys.exit(main(['detect', '--no-progress', {str(photo)!r}, "
            f"'--json', {str(tmp_path / 'f.json')!r}]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"detect failed without torch/rclpy:\n{done.stderr[-2000:]}"
    assert len(json.loads((tmp_path / "f.json").read_text())["faces"]) == 1


def test_close_up_in_a_camera_size_photo_is_found(shared_dir, bundle, tmp_path):
    """A 900 px face in a 2400x1800 photo (a phone close-up): the default detect-max-side
    downscale brings it into the detector's range; boxes come back in full-size pixels."""
    images, labels = faces.fer2013_faces("PublicTest", limit=1)
    scene = faces.compose_frame(images, list(labels), frame_size=(2400, 1800), face_px=900,
                                seed=2)
    cv2.imwrite(str(tmp_path / "closeup.jpg"), scene.image)
    assert _detect(tmp_path / "closeup.jpg", "--json", tmp_path / "f.json") == 0
    found = [Box(*r["box"]) for r in json.loads((tmp_path / "f.json").read_text())["faces"]]
    assert faces.match_boxes(scene.boxes, found) == [0], f"{found} vs {scene.boxes}"
