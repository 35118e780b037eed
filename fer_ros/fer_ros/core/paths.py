"""Where files live: the packaged models (source tree, then the ament share directory) and
the shared data folder (`FER_ROS_SHARED`)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from fer_ros.core.errors import ModelError

PACKAGE = "fer_ros"
#: fer_ros/fer_ros/core/paths.py -> fer_ros/models (the ament package's models/ folder)
SOURCE_MODELS = Path(__file__).resolve().parents[2] / "models"
YUNET_RELATIVE = "face_detection/face_detection_yunet_2026may.onnx"


def _share_dirs() -> list[Path]:
    """share/fer_ros of every prefix on AMENT_PREFIX_PATH, then of this interpreter."""
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    # colcon installs this file to <prefix>/lib/pythonX.Y/site-packages/fer_ros/core/
    here = Path(__file__).resolve().parents
    if len(here) > 5:
        prefixes.append(str(here[5]))
    prefixes.append(sys.prefix)
    return [Path(p) / "share" / PACKAGE for p in prefixes]


def model_search_dirs() -> list[Path]:
    return [SOURCE_MODELS] + [d / "models" for d in _share_dirs()]


def find_model_file(relative: str) -> Path:
    """First existing ``models/<relative>``; ModelError listing the places looked at."""
    tried = []
    for base in model_search_dirs():
        candidate = base / relative
        if candidate.exists():
            return candidate
        tried.append(str(candidate))
    raise ModelError(f"packaged model file {relative!r} not found; looked in: "
                     f"{', '.join(tried)}. Build and source the workspace "
                     "(colcon build; source install/setup.bash) or pass an explicit path")


def shared_dir() -> Path:
    """The shared data folder (datasets, peer models): the one rule every tool and test uses.

    ``$FER_ROS_SHARED`` when set; else ``shared`` beside the source checkout (this file is
    ``<checkout>/fer_ros/fer_ros/core/paths.py``); else ``../shared`` from the working
    directory (a colcon-installed copy of this file is not inside the checkout).
    """
    configured = os.environ.get("FER_ROS_SHARED")
    if configured:
        return Path(configured).resolve()
    beside_checkout = Path(__file__).resolve().parents[3].parent / "shared"
    if beside_checkout.is_dir():
        return beside_checkout
    return (Path.cwd().parent / "shared").resolve()
