"""One rosbags typestore that knows the ROS 2 standard messages and fer_ros_msgs.

fer_ros_msgs types are registered from the package's own ``.msg`` files (source tree
first, then the ament share directory), so the bag tools never carry a second copy of
the message definitions.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

from rosbags.typesys import Stores, get_typestore, get_types_from_msg

from fer_ros.core.errors import FerError

MSG_PACKAGE = "fer_ros_msgs"
MSG_NAMES = ("Emotion", "EmotionArray")
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
EMOTION_ARRAY = "fer_ros_msgs/msg/EmotionArray"
EMOTION = "fer_ros_msgs/msg/Emotion"
IMAGE_TYPES = (IMAGE, COMPRESSED)

# fer_ros/fer_ros/bag/typestore.py -> repository root / fer_ros_msgs / msg
_SOURCE_MSG_DIR = Path(__file__).resolve().parents[3] / MSG_PACKAGE / "msg"


def msg_dirs() -> list[Path]:
    """Where fer_ros_msgs .msg files may be: the source tree, then each ament prefix."""
    dirs = [_SOURCE_MSG_DIR]
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            dirs.append(Path(prefix) / "share" / MSG_PACKAGE / "msg")
    return dirs


def _find_msg_dir() -> Path:
    for directory in msg_dirs():
        if all((directory / f"{name}.msg").is_file() for name in MSG_NAMES):
            return directory
    raise FerError(f"{MSG_PACKAGE} message definitions not found; looked in "
                   f"{', '.join(str(d) for d in msg_dirs())}. Run from the source tree or "
                   "source the workspace (source install/setup.bash)")


@functools.lru_cache(maxsize=1)
def typestore():
    """The ROS 2 Kilted typestore with fer_ros_msgs/Emotion and EmotionArray registered."""
    store = get_typestore(Stores.ROS2_KILTED)
    directory = _find_msg_dir()
    types = {}
    for name in MSG_NAMES:
        text = (directory / f"{name}.msg").read_text(encoding="utf-8")
        types.update(get_types_from_msg(text, f"{MSG_PACKAGE}/msg/{name}"))
    store.register(types)
    return store
