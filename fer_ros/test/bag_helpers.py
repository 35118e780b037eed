"""Bags for the bag tests, generated from the real FER2013 PublicTest faces in ../shared."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from fer_ros.core.fer2013 import FER2013_RELATIVE

REPO = Path(__file__).resolve().parents[2]


def fer2013_csv(shared_dir: Path) -> Path:
    path = shared_dir / FER2013_RELATIVE
    if not path.is_file():
        message = f"{path} not found: the sample bag is generated from FER2013 PublicTest"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def small_bag(tmp: Path, csv: Path, seconds: float = 1.0, raw: bool = True,
              compressed: bool = True, seed: int = 5) -> tuple[Path, Path]:
    """A short bag (15 fps) with a bgr8 Image and/or a jpeg CompressedImage topic."""
    from fer_ros.bag.make_sample import SampleSpec, build_sample
    spec = SampleSpec(seconds=seconds, raw=raw, compressed=compressed, seed=seed)
    return build_sample(tmp / f"bag_{seed}_{int(raw)}{int(compressed)}", csv, spec, quiet=True)
