"""sensor_msgs/Image and CompressedImage <-> numpy, and results -> EmotionArray.

The project's own small replacement for cv_bridge (which is not installable from PyPI).
Every function checks the message against its own metadata (encoding, ``step`` row
padding, ``is_bigendian``, data length) and raises :class:`MessageError` naming the field
and the fix, so the node can count and skip a malformed message instead of crashing.
"""
from __future__ import annotations

import array
import functools

import cv2
import numpy as np

from fer_ros.core.emotion_array import MessageTypes, build_emotion_array
from fer_ros.core.errors import InputError
from fer_ros.core.image import (SUPPORTED_ENCODINGS, check_size, image_fields, pixel_layout,
                                to_bgr8)



class MessageError(InputError):
    """A ROS image message is malformed or in an unsupported format."""


def _data_view(data) -> np.ndarray:
    """The message's byte buffer as a uint8 array without copying when possible."""
    try:
        return np.frombuffer(memoryview(data), dtype=np.uint8)
    except TypeError:  # a plain list of ints (a hand-built message)
        return np.asarray(data, dtype=np.uint8)


def image_to_array(msg) -> np.ndarray:
    """sensor_msgs/Image -> HxW or HxWxC array in the message's own dtype and channel order.

    Row padding (``step`` larger than ``width * bytes_per_pixel``) is removed and
    big-endian 16-bit data is converted to native byte order.
    """
    encoding = msg.encoding
    layout = pixel_layout(encoding)  # the encodings table is core.image's
    if layout is None:
        raise MessageError(
            f"image encoding {encoding!r} is not supported; publish one of "
            f"{', '.join(SUPPORTED_ENCODINGS)} (or CompressedImage jpeg/png)")
    dtype, channels = layout
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise MessageError(f"image is empty ({width}x{height}); the camera sent no pixels")
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise MessageError(
            f"image step {step} is smaller than width*bytes_per_pixel = {row_bytes} "
            f"for {width} px of {encoding}; step must be the row length in bytes")
    data = _data_view(msg.data)
    if data.size < height * step:
        raise MessageError(
            f"image data has {data.size} bytes, expected height*step = {height}*{step} "
            f"= {height * step}; the message is truncated")
    rows = data[:height * step].reshape(height, step)[:, :row_bytes]
    byte_order = ">" if msg.is_bigendian else "<"
    pixels = np.ascontiguousarray(rows).view(dtype.newbyteorder(byte_order))
    if not pixels.dtype.isnative:
        pixels = pixels.astype(dtype)  # swap to this machine's byte order
    shape = (height, width) if channels == 1 else (height, width, channels)
    return pixels.reshape(shape)


def image_to_bgr8(msg, depth16: str = "scale") -> np.ndarray:
    """sensor_msgs/Image -> uint8 BGR HxWx3 or gray HxW, ready for the pipeline."""
    return to_bgr8(image_to_array(msg), msg.encoding, depth16)


def compressed_to_bgr8(msg) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg or png) -> uint8 BGR HxWx3."""
    data = _data_view(msg.data)
    if data.size == 0:
        raise MessageError(f"compressed image (format {msg.format!r}) has no data")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise MessageError(
            f"compressed image of {data.size} bytes (format {msg.format!r}) could not be "
            "decoded; send a valid jpeg or png (image_transport 'compressed')")
    check_size(image.shape[0], image.shape[1], "compressed image")  # imdecode gives uint8 BGR
    return image


def array_to_image(image: np.ndarray, header=None, image_cls=None):
    """uint8 BGR HxWx3 or gray HxW -> sensor_msgs/Image (bgr8 / mono8)."""
    if image_cls is None:
        from sensor_msgs.msg import Image as image_cls  # noqa: N813
    fields = image_fields(image)
    # array.array('B') is taken as-is by the generated setter (bytes would be checked per item).
    fields["data"] = array.array("B", fields["data"].tobytes())
    msg = image_cls(**fields)
    if header is not None:
        msg.header = header
    return msg


@functools.lru_cache(maxsize=1)
def _rclpy_types() -> MessageTypes:
    from fer_ros_msgs.msg import Emotion, EmotionArray
    from sensor_msgs.msg import RegionOfInterest
    return MessageTypes(EmotionArray, Emotion, RegionOfInterest,
                        lambda scores: array.array("f", np.asarray(scores, np.float32).tobytes()))


def result_to_msg(result, header, model_name: str, model_version: str,
                  image_shape: tuple[int, ...]):
    """core FrameResult -> fer_ros_msgs/EmotionArray with the source header unchanged."""
    return build_emotion_array(_rclpy_types(), result, header, model_name, model_version,
                               image_shape)
