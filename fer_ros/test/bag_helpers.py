"""Bags for the bag tests, generated from the real FER2013 PublicTest faces in ../shared."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def fer2013_csv(shared_dir: Path) -> Path:
    path = shared_dir / "datasets" / "fer2013" / "fer2013.csv.gz"
    if not path.is_file():
        message = f"{path} not found: the sample bag is generated from FER2013 PublicTest"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def default_bundle():
    """The packaged default model bundle, or skip (fail under CI) saying why."""
    from fer_ros.core.bundle import default_bundle_path
    from fer_ros.core.errors import ModelError
    try:
        path = default_bundle_path()
    except ModelError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(f"no default model bundle yet: {exc}")
    return path


def small_bag(tmp: Path, csv: Path, seconds: float = 1.0, raw: bool = True,
              compressed: bool = True, seed: int = 5) -> tuple[Path, Path]:
    """A short bag (15 fps) with a bgr8 Image and/or a jpeg CompressedImage topic."""
    from fer_ros.bag.make_sample import SampleSpec, build_sample
    spec = SampleSpec(seconds=seconds, raw=raw, compressed=compressed, seed=seed)
    return build_sample(tmp / f"bag_{seed}_{int(raw)}{int(compressed)}", csv, spec, quiet=True)
