"""Camera images of any common encoding -> the uint8 BGR or gray frame the core works on.

Encodings follow ``sensor_msgs/image_encodings`` names (as ROS ``Image.encoding``
carries them), so the node, the bag tools and plain scripts decode the same way.
Every unusable input raises :class:`InputError` naming what is wrong and the fix.
"""
from __future__ import annotations

import cv2
import numpy as np

from fer_ros.core.errors import InputError

#: frames smaller than this on either side hold no detectable face.
MIN_IMAGE_SIDE = 16
#: larger frames are refused rather than silently eating seconds of CPU; 8K is 33 MP.
MAX_IMAGE_PIXELS = 40_000_000
MAX_IMAGE_SIDE = 16384

# encoding -> (dtype, channels, cv2 conversion to BGR or None for gray/BGR as is)
_ENCODINGS = {
    "mono8": (np.uint8, 1, None),
    "8uc1": (np.uint8, 1, None),
    "bgr8": (np.uint8, 3, None),
    "8uc3": (np.uint8, 3, None),
    "rgb8": (np.uint8, 3, cv2.COLOR_RGB2BGR),
    "bgra8": (np.uint8, 4, cv2.COLOR_BGRA2BGR),
    "8uc4": (np.uint8, 4, cv2.COLOR_BGRA2BGR),
    "rgba8": (np.uint8, 4, cv2.COLOR_RGBA2BGR),
    "mono16": (np.uint16, 1, None),
    "16uc1": (np.uint16, 1, None),
    "bgr16": (np.uint16, 3, None),
    "16uc3": (np.uint16, 3, None),
    "rgb16": (np.uint16, 3, cv2.COLOR_RGB2BGR),
    "bgra16": (np.uint16, 4, cv2.COLOR_BGRA2BGR),
    "rgba16": (np.uint16, 4, cv2.COLOR_RGBA2BGR),
    "yuv422": (np.uint8, 2, cv2.COLOR_YUV2BGR_UYVY),        # UYVY byte order
    "uyvy": (np.uint8, 2, cv2.COLOR_YUV2BGR_UYVY),
    "yuv422_yuy2": (np.uint8, 2, cv2.COLOR_YUV2BGR_YUY2),   # YUYV byte order
    "yuyv": (np.uint8, 2, cv2.COLOR_YUV2BGR_YUY2),
}
SUPPORTED_ENCODINGS = tuple(sorted(_ENCODINGS))


def pixel_layout(encoding: str) -> tuple[np.dtype, int] | None:
    """(dtype, channels) of one pixel of ``encoding`` (case-insensitive), None if unknown."""
    entry = _ENCODINGS.get(str(encoding).strip().lower())
    return None if entry is None else (np.dtype(entry[0]), entry[1])


def image_fields(image: np.ndarray) -> dict:
    """uint8 BGR HxWx3 or gray HxW -> the fields of a sensor_msgs/Image (bgr8 / mono8).

    ``data`` is a flat uint8 array; the ROS and the bag writers wrap it as each needs.
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3) \
            or (image.ndim == 3 and image.shape[2] != 3):
        raise InputError(f"expected a uint8 HxW or HxWx3 image, got "
                         f"{getattr(image, 'dtype', type(image).__name__)} "
                         f"{getattr(image, 'shape', '')}")
    image = np.ascontiguousarray(image)
    return {"height": int(image.shape[0]), "width": int(image.shape[1]),
            "encoding": "mono8" if image.ndim == 2 else "bgr8", "is_bigendian": 0,
            "step": int(image.strides[0]), "data": image.reshape(-1)}
DEPTH16_MODES = ("scale", "normalize")


def check_size(height: int, width: int, what: str = "image") -> None:
    """Refuse empty, tiny and huge frames with a message that gives the limits."""
    if height < MIN_IMAGE_SIDE or width < MIN_IMAGE_SIDE:
        raise InputError(f"{what} is {width}x{height} pixels; faces need at least "
                         f"{MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} (is the camera stream empty?)")
    if height > MAX_IMAGE_SIDE or width > MAX_IMAGE_SIDE or height * width > MAX_IMAGE_PIXELS:
        raise InputError(f"{what} is {width}x{height} pixels, above the limit of "
                         f"{MAX_IMAGE_PIXELS} pixels / {MAX_IMAGE_SIDE} per side; "
                         "lower the camera resolution or resize before the core")


def check_frame(image: np.ndarray) -> np.ndarray:
    """Validate a decoded frame: uint8, HxW gray or HxWx3 BGR, sensible size."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"frame must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InputError(f"frame must be uint8, got {image.dtype}; decode it with "
                         "fer_ros.core.image.to_bgr8(array, encoding)")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise InputError(f"frame must be HxW gray or HxWx3 BGR, got shape {image.shape}; "
                         "decode 4-channel or YUV images with to_bgr8(array, encoding)")
    check_size(image.shape[0], image.shape[1], "frame")
    return image


def _expected_shape_ok(array: np.ndarray, channels: int) -> bool:
    if channels == 1:
        return array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 1)
    return array.ndim == 3 and array.shape[2] == channels


def _depth16_to_8(array: np.ndarray, mode: str) -> np.ndarray:
    if mode == "scale":  # full 16-bit range onto 0..255
        return (array // 257).astype(np.uint8)
    # normalize: stretch the frame's own range; for 10/12-bit sensors in 16-bit words
    lo, hi = int(array.min()), int(array.max())
    if hi <= lo:
        return np.zeros(array.shape, np.uint8)
    scaled = (array.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(scaled + 0.5, 0, 255).astype(np.uint8)


def to_bgr8(array: np.ndarray, encoding: str, depth16: str = "scale") -> np.ndarray:
    """Decode ``array`` (shaped as its encoding implies) into uint8 BGR (HxWx3) or gray (HxW).

    ``depth16`` picks how 16-bit images become 8-bit: ``scale`` maps 0..65535 to 0..255,
    ``normalize`` stretches each frame's min..max (for 10/12-bit sensors).
    """
    if not isinstance(array, np.ndarray):
        raise InputError(f"image must be a numpy array, got {type(array).__name__}")
    key = str(encoding).strip().lower()
    if key not in _ENCODINGS:
        raise InputError(f"unsupported image encoding {encoding!r}; supported: "
                         f"{', '.join(SUPPORTED_ENCODINGS)}")
    if depth16 not in DEPTH16_MODES:
        raise InputError(f"depth16 must be one of {DEPTH16_MODES}, got {depth16!r}")
    dtype, channels, conversion = _ENCODINGS[key]
    if array.dtype != dtype:
        raise InputError(f"encoding {encoding!r} needs {np.dtype(dtype).name} pixels, got "
                         f"{array.dtype}; check the encoding field or the array's dtype")
    if not _expected_shape_ok(array, channels):
        want = "HxW" if channels == 1 else f"HxWx{channels}"
        raise InputError(f"encoding {encoding!r} needs a {want} array, got shape {array.shape}")
    check_size(array.shape[0], array.shape[1], "image")
    if channels == 1 and array.ndim == 3:
        array = array[:, :, 0]
    if dtype == np.uint16:
        array = _depth16_to_8(array, depth16)
    array = np.ascontiguousarray(array)
    return cv2.cvtColor(array, conversion) if conversion is not None else array
