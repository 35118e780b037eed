"""Real faces from the shared folder for tests, and camera-like frames built from them.

    images, labels = fer2013_faces("PublicTest", limit=200)
    scene = compose_frame(images[:3], labels[:3], frame_size=(640, 480), seed=1)
    scene.image, scene.boxes, scene.labels   # BGR frame, true face squares, their labels

The composing code lives in :mod:`fer_ros.bench.scenes` (the benchmarks use it too);
this module pins the shared paths and caches what was read for the whole test session.
"""
from __future__ import annotations

from functools import lru_cache

from fer_ros.bench import scenes
from fer_ros.bench.scenes import (Scene, compose_frame,  # noqa: F401
                                  match_boxes, moving_stream, textured_background)
from fer_ros.core.fer2013 import FER2013_LABELS, FER2013_RELATIVE, sample_faces  # noqa: F401
from fer_ros.core.paths import shared_dir

SHARED = shared_dir()
FER2013_CSV = SHARED / FER2013_RELATIVE
CKPLUS_DIR = SHARED / scenes.CKPLUS_RELATIVE


def shared_available() -> bool:
    return FER2013_CSV.is_file() and CKPLUS_DIR.is_dir()


@lru_cache(maxsize=8)
def fer2013_faces(split: str = "Training", limit: int = 200):
    """The first ``limit`` faces of a FER2013 ``Usage`` split: (48x48 uint8 list, int labels)."""
    return sample_faces(FER2013_CSV, split, limit)


@lru_cache(maxsize=4)
def ckplus_faces(per_class: int = 10):
    """Up to ``per_class`` CK+48 faces of each class: (48x48 uint8 list, class-name list)."""
    return scenes.ckplus_faces(CKPLUS_DIR, per_class)
