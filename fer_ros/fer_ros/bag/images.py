"""Image messages read from / written to bags <-> numpy frames.

Decoding reuses :mod:`fer_ros.ros.convert` (rclpy-free, duck-typed on the message
fields), so the bag tools and the live node decode images the same way.
Encoding builds rosbags message objects for the sample generator and the tests.
"""
from __future__ import annotations

import cv2
import numpy as np

from fer_ros.bag.typestore import COMPRESSED, IMAGE, typestore
from fer_ros.core.errors import InputError
from fer_ros.core.image import image_fields
from fer_ros.ros.convert import compressed_to_bgr8, image_to_bgr8


def decode_frame(msg, msgtype: str) -> np.ndarray:
    """A deserialized Image or CompressedImage -> uint8 BGR or gray frame for the core."""
    if msgtype == IMAGE:
        return image_to_bgr8(msg)
    if msgtype == COMPRESSED:
        return compressed_to_bgr8(msg)
    raise InputError(f"{msgtype} is not an image type; expected {IMAGE} or {COMPRESSED}")


def header(stamp_ns: int, frame_id: str):
    """A std_msgs/Header for a stamp in nanoseconds."""
    store = typestore()
    stamp = store.types["builtin_interfaces/msg/Time"](
        sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)
    return store.types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)


def stamp_ns(msg_header) -> int:
    return int(msg_header.stamp.sec) * 1_000_000_000 + int(msg_header.stamp.nanosec)


def raw_image_msg(frame: np.ndarray, stamp: int, frame_id: str):
    """uint8 BGR HxWx3 or gray HxW -> sensor_msgs/Image (bgr8 / mono8)."""
    return typestore().types[IMAGE](header=header(stamp, frame_id), **image_fields(frame))


def compressed_image_msg(frame: np.ndarray, stamp: int, frame_id: str, quality: int = 90):
    """uint8 BGR frame -> sensor_msgs/CompressedImage, format "jpeg" (image_transport style)."""
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise InputError(f"could not jpeg-encode a frame of shape {frame.shape}")
    return typestore().types[COMPRESSED](
        header=header(stamp, frame_id), format="jpeg", data=data.reshape(-1))
