"""Small real extracts of the shared datasets for the training tests.

The full FER2013 csv takes ~20 s to parse on 2 cores, so tests train on a few
hundred real rows copied (unchanged, in their original order) into tmp files.
FER+ votes are copied for exactly the same rows so the two files stay aligned.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from fer_ros.core.paths import shared_dir

REPO = Path(__file__).resolve().parents[2]
SHARED = shared_dir() / "datasets"
FER2013_CSV = SHARED / "fer2013" / "fer2013.csv.gz"
FERPLUS_CSV = SHARED / "ferplus" / "fer2013new.csv"
CKPLUS_DIR = SHARED / "ckplus48" / "CK+48"


def needs_shared(*paths: Path):
    """Skip when shared data is missing, except under CI, which must run these tests."""
    missing = [str(p) for p in paths if not p.exists()]
    return pytest.mark.skipif(bool(missing) and not os.environ.get("CI"),
                              reason=f"shared data missing: {missing}; set FER_ROS_SHARED")


def write_extract(out_dir: Path, per_split: dict[str, int]) -> tuple[Path, Path]:
    """First ``per_split[usage]`` rows of each Usage -> (fer2013.csv, fer2013new.csv)."""
    wanted = dict(per_split)
    pixels_out, votes_out = out_dir / "fer2013.csv", out_dir / "fer2013new.csv"
    with gzip.open(FER2013_CSV, "rt", encoding="utf-8") as pixels, \
            open(FERPLUS_CSV, encoding="utf-8") as votes, \
            open(pixels_out, "w", encoding="utf-8") as p_out, \
            open(votes_out, "w", encoding="utf-8") as v_out:
        p_out.write(next(pixels))
        v_out.write(next(votes))
        for p_line, v_line in zip(pixels, votes):
            usage = p_line.rstrip().rsplit(",", 1)[1]
            if wanted.get(usage, 0) > 0:
                wanted[usage] -= 1
                p_out.write(p_line)
                v_out.write(v_line)
            if not any(wanted.values()):
                break
    return pixels_out, votes_out


def tiny_config(data: Path, out: Path, **overrides):
    """A TrainConfig that trains a ResNet18 for seconds on a 2-core CPU."""
    from fer_ros.training.config import TrainConfig
    values = dict(dataset="fer2013", data=str(data), input_size=32, batch_size=32, epochs=2,
                  lr=0.02, schedule="cosine", threads=1, out=str(out), seed=3, amp="off",
                  tta_flip=False, erase_prob=0.25)
    values.update(overrides)
    return TrainConfig(**values).validate()
