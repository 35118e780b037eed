"""Dataset loaders on the real shared files and on malformed fixtures; k-fold splits."""
from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from training_helpers import CKPLUS_DIR, FER2013_CSV, FERPLUS_CSV, needs_shared, write_extract

from fer_ros.training.data import DatasetError, load_fer2013
from fer_ros.training.datasets import load_facesets, load_faces
from fer_ros.training.ferplus import FERPLUS_LABELS, load_ferplus, vote_target
from fer_ros.training.folders import group_folds, load_ckplus, load_image_folder, split_fold

pytestmark = [pytest.mark.shared_data, needs_shared(FER2013_CSV, FERPLUS_CSV, CKPLUS_DIR)]


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    return write_extract(tmp_path_factory.mktemp("fer"),
                         {"Training": 300, "PublicTest": 120, "PrivateTest": 40})


# ---- FER2013 ---------------------------------------------------------------------------

def test_fer2013_real_extract_keeps_splits_apart(extract):
    pixels, _ = extract
    train, val, test = load_fer2013(pixels, "Training", "PublicTest", "PrivateTest")
    assert (len(train), len(val), len(test)) == (300, 120, 40)
    assert train.images[0].shape == (48, 48) and train.images[0].dtype == np.uint8
    assert set(np.unique(train.targets)) <= set(range(7))


def test_training_never_reads_private_test(extract, tmp_path):
    from training_helpers import tiny_config
    pixels, _ = extract
    cfg = tiny_config(pixels, tmp_path, val_split="PrivateTest")
    with pytest.raises(DatasetError, match="PrivateTest is for final reporting"):
        load_facesets(cfg)
    cfg = tiny_config(pixels, tmp_path, train_split="PublicTest")
    with pytest.raises(DatasetError, match="Training split only"):
        load_facesets(cfg)


def _write_csv(path, rows, header="emotion,pixels,Usage"):
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows))
    return path


GOOD_PIXELS = " ".join(["128"] * 2304)


@pytest.mark.parametrize("row, message", [
    (f"3,{' '.join(['1'] * 2000)},Training",
     r"fer2013.csv:3: expected 2304 pixel values, got 2000"),
    (f"9,{GOOD_PIXELS},Training", r"fer2013.csv:3: unknown emotion label 9"),
    (f"x,{GOOD_PIXELS},Training", r"fer2013.csv:3: emotion 'x' is not an integer"),
    (f"3,{GOOD_PIXELS},Validation", r"fer2013.csv:3: unknown Usage 'Validation'"),
    (f"3,{GOOD_PIXELS[:-3]}abc,Training", r"fer2013.csv:3: pixel values must be"),
    (f"3,{GOOD_PIXELS[:-3]}300,Training", r"fer2013.csv:3: pixel values must be in 0..255"),
])
def test_fer2013_malformed_row_names_file_and_line(tmp_path, row, message):
    path = _write_csv(tmp_path / "fer2013.csv", [f"0,{GOOD_PIXELS},Training", row])
    with pytest.raises(DatasetError, match=message):
        load_fer2013(path, "Training")


def test_fer2013_bad_header(tmp_path):
    path = _write_csv(tmp_path / "fer2013.csv", [f"0,{GOOD_PIXELS},Training"], header="a,b,c")
    with pytest.raises(DatasetError, match=r"fer2013.csv:1: expected header"):
        load_fer2013(path, "Training")


# ---- FER+ ------------------------------------------------------------------------------

def test_ferplus_real_votes_join_fer2013_rows(extract):
    pixels, votes = extract
    train, val = load_ferplus(pixels, votes, "majority", "Training", "PublicTest")
    assert train.labels == FERPLUS_LABELS and len(FERPLUS_LABELS) == 8
    assert 0 < len(train) <= 300 and 0 < len(val) <= 120  # unknown/NF rows left out
    # The first Training row of fer2013new.csv votes 4 neutral, 3 anger, 2 disgust, 1 sadness:
    # the single sadness vote is dropped and 4/9 is no majority -> excluded.
    soft, = load_ferplus(pixels, votes, "crossentropy", "Training")
    assert soft.targets.shape[1] == 8
    np.testing.assert_allclose(soft.targets.sum(1), 1.0, rtol=1e-6)
    fer_train, = load_fer2013(pixels, "Training")
    assert not np.array_equal(train.images[0], fer_train.images[0])  # row 0 was excluded


@pytest.mark.parametrize("votes, mode, expected", [
    ([4, 0, 0, 0, 0, 0, 0, 4, 1, 0], "crossentropy", {0: 0.5, 7: 0.5}),
    ([1, 0, 0, 1, 0, 2, 0, 6, 0, 0], "crossentropy", {7: 1.0}),
    ([7, 0, 0, 0, 2, 0, 0, 1, 0, 0], "majority", {0: 1.0}),
    ([4, 0, 0, 0, 0, 0, 0, 4, 1, 0], "majority", None),       # a tie is no majority
    ([0, 0, 0, 0, 0, 0, 0, 0, 0, 10], "majority", None),      # not a face
    ([2, 0, 0, 0, 0, 0, 0, 0, 8, 0], "probability", None),    # unknown wins
])
def test_ferplus_vote_rules_follow_the_reference_code(votes, mode, expected):
    target = vote_target(np.array(votes), mode)
    if expected is None:
        assert target is None
    else:
        want = np.zeros(8, np.float32)
        for i, v in expected.items():
            want[i] = v
        np.testing.assert_allclose(target, want)


def test_ferplus_misaligned_files_are_rejected(extract, tmp_path):
    pixels, votes = extract
    lines = votes.read_text().splitlines(keepends=True)
    short = tmp_path / "fer2013new.csv"
    short.write_text("".join(lines[:-1]))
    with pytest.raises(DatasetError, match="rows but"):
        load_ferplus(pixels, short, "majority", "Training")
    bad = tmp_path / "bad.csv"
    fields = lines[3].split(",")
    fields[2] = "x"
    bad.write_text("".join(lines[:3]) + ",".join(fields) + "".join(lines[4:]))
    with pytest.raises(DatasetError, match=r"bad.csv:4: vote counts must be integers"):
        load_ferplus(pixels, bad, "majority", "Training")


def test_ferplus_needs_votes_file(extract):
    pixels, _ = extract
    with pytest.raises(DatasetError, match="--labels"):
        load_faces("ferplus", str(pixels), "PublicTest")


# ---- CK+ and image folders --------------------------------------------------------------

def test_ckplus_real_layout():
    faces = load_ckplus(CKPLUS_DIR.parent)
    assert len(faces) == 981
    assert faces.labels == ("anger", "contempt", "disgust", "fear", "happy", "sadness",
                            "surprise")
    assert len(set(faces.groups)) == 118


@pytest.mark.parametrize("folds", [5, 10])
def test_ckplus_folds_are_subject_disjoint_and_cover_every_subject(folds):
    faces = load_ckplus(CKPLUS_DIR)
    fold_of = group_folds(faces.groups, faces.targets, folds)
    for subject in set(faces.groups):
        assert len(set(fold_of[faces.groups == subject])) == 1, f"{subject} split across folds"
    tested = []
    for k in range(folds):
        train, test = split_fold(faces, folds, k)
        assert not set(train.groups) & set(test.groups), f"fold {k}: subject in train and test"
        assert len(train) + len(test) == len(faces)
        tested += sorted(set(test.groups))
    assert sorted(tested) == sorted(set(faces.groups))  # each subject tested exactly once
    sizes = np.bincount(fold_of)
    assert sizes.max() - sizes.min() <= 12, f"unbalanced folds {sizes}"


def test_ckplus_val_split_is_the_held_out_fold():
    train = load_faces("ckplus", str(CKPLUS_DIR), "train", folds=10, fold=2)
    val = load_faces("ckplus", str(CKPLUS_DIR), "val", folds=10, fold=2)
    every = load_faces("ckplus", str(CKPLUS_DIR), None)
    assert len(train) + len(val) == len(every) == 981
    assert not set(train.groups) & set(val.groups)


def _folder(tmp_path, classes=("calm", "joy", "other"), per_class=4):
    faces = load_ckplus(CKPLUS_DIR)
    root = tmp_path / "faces"
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            image = faces.images[c * 50 + i]
            ext = "png" if i % 2 else "jpg"
            cv2.imwrite(str(root / name / f"img{i}.{ext}"), image)
    return root


def test_image_folder_any_classes_and_file_kfold(tmp_path):
    root = _folder(tmp_path)
    faces = load_image_folder(root)
    assert faces.labels == ("calm", "joy", "other") and len(faces) == 12
    train, val = split_fold(faces, 4, 1)
    assert len(val) == 3 and sorted(val.targets) == [0, 1, 2]  # stratified by class
    assert not set(train.groups) & set(val.groups)


def test_image_folder_train_val_subfolders(tmp_path):
    root = tmp_path / "set"
    for part in ("train", "val"):
        shutil.copytree(_folder(tmp_path / part), root / part)
    from training_helpers import tiny_config
    cfg = tiny_config(root, tmp_path, dataset="folder", train_split="train", val_split="val")
    train, val = load_facesets(cfg)
    assert len(train) == len(val) == 12


def test_image_folder_errors_name_the_path(tmp_path):
    root = _folder(tmp_path)
    (root / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"empty: class folder has no"):
        load_image_folder(root)
    (root / "empty").rmdir()
    (root / "joy" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=r"broken.png: cannot be read as an image"):
        load_image_folder(root)
    (root / "joy" / "broken.png").unlink()
    with pytest.raises(DatasetError, match=r"img0.jpg: file name does not match"):
        load_ckplus(root)
    with pytest.raises(DatasetError, match="no such folder"):
        load_image_folder(tmp_path / "missing")
