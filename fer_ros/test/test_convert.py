"""sensor_msgs Image/CompressedImage <-> numpy and FrameResult -> EmotionArray."""
from __future__ import annotations

import array

import cv2
import numpy as np
import pytest

sensor_msgs = pytest.importorskip("sensor_msgs.msg", reason="ROS 2 messages not sourced "
                                  "(source install/setup.bash)")
from sensor_msgs.msg import CompressedImage, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from fer_ros.core.types import Box, FaceEmotion, FrameResult  # noqa: E402
from fer_ros.ros.convert import (MessageError, array_to_image, compressed_to_bgr8,  # noqa: E402
                                 image_to_array, image_to_bgr8, result_to_msg)

RNG = np.random.default_rng(0)
H, W = 24, 40


def make_image(pixels: np.ndarray, encoding: str, pad: int = 0, bigendian: bool = False):
    """An Image message of ``pixels`` with ``pad`` junk bytes at the end of every row."""
    rows = pixels.reshape(pixels.shape[0], -1)
    if bigendian:
        rows = rows.astype(rows.dtype.newbyteorder(">"))
    raw = rows.view(np.uint8).reshape(pixels.shape[0], -1)
    raw = np.hstack([raw, np.full((raw.shape[0], pad), 0xAB, np.uint8)])
    msg = Image(height=pixels.shape[0], width=pixels.shape[1], encoding=encoding,
                is_bigendian=int(bigendian), step=raw.shape[1])
    msg.data = array.array("B", raw.tobytes())
    return msg


@pytest.mark.parametrize("encoding,dtype,channels", [
    ("mono8", np.uint8, 1), ("8UC1", np.uint8, 1), ("bgr8", np.uint8, 3),
    ("rgb8", np.uint8, 3), ("8UC3", np.uint8, 3), ("rgba8", np.uint8, 4),
    ("bgra8", np.uint8, 4), ("mono16", np.uint16, 1), ("16UC1", np.uint16, 1),
    ("rgb16", np.uint16, 3)])
@pytest.mark.parametrize("pad", [0, 5])
@pytest.mark.parametrize("bigendian", [False, True])
def test_image_to_array_round_trips_pixels(encoding, dtype, channels, pad, bigendian):
    shape = (H, W) if channels == 1 else (H, W, channels)
    pixels = RNG.integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype)
    out = image_to_array(make_image(pixels, encoding, pad, bigendian))
    assert out.dtype == dtype and out.dtype.isnative
    np.testing.assert_array_equal(out, pixels)


def test_rgb8_becomes_bgr_and_mono16_becomes_8bit():
    rgb = RNG.integers(0, 255, size=(H, W, 3), dtype=np.uint8)
    np.testing.assert_array_equal(image_to_bgr8(make_image(rgb, "rgb8")), rgb[:, :, ::-1])
    mono16 = np.full((H, W), 0xFF00, np.uint16)
    out = image_to_bgr8(make_image(mono16, "mono16", pad=2, bigendian=True))
    assert out.dtype == np.uint8 and out.shape == (H, W)
    assert int(out[0, 0]) == 0xFF00 // 257


def test_yuv422_decodes_to_bgr():
    b, g, r = 30, 120, 200
    # BT.601 video range, what UVC cameras send.
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    uyvy = np.empty((H, W, 2), np.uint8)  # U Y V Y per pixel pair
    uyvy[:, :, 1] = round(y)
    uyvy[:, 0::2, 0] = round(u)
    uyvy[:, 1::2, 0] = round(v)
    out = image_to_bgr8(make_image(uyvy, "uyvy"))
    assert out.shape == (H, W, 3)
    assert np.abs(out.astype(int) - (b, g, r)).max() <= 4, out[0, 0]


@pytest.mark.parametrize("change,needle", [
    (dict(encoding="bayer_weird"), "not supported"),
    (dict(height=0), "empty"),
    (dict(step=10), "step"),
    (dict(height=H + 1), "truncated"),
])
def test_malformed_image_raises_message_error(change, needle):
    msg = make_image(np.zeros((H, W, 3), np.uint8), "bgr8")
    for field, value in change.items():
        setattr(msg, field, value)
    with pytest.raises(MessageError, match=needle):
        image_to_bgr8(msg)


def test_compressed_jpeg_and_png_decode_and_corrupt_raises():
    bgr = np.zeros((64, 80, 3), np.uint8)
    cv2.rectangle(bgr, (10, 10), (50, 40), (0, 200, 255), -1)
    for fmt in ("jpeg", "png"):
        ok, encoded = cv2.imencode("." + fmt.replace("jpeg", "jpg"), bgr)
        msg = CompressedImage(format=fmt)
        msg.data = array.array("B", encoded.tobytes())
        out = compressed_to_bgr8(msg)
        assert out.shape == bgr.shape and np.abs(out.astype(int) - bgr).mean() < 3
    msg.data = array.array("B", encoded.tobytes()[:40])
    with pytest.raises(MessageError, match="could not be decoded"):
        compressed_to_bgr8(msg)
    msg.data = array.array("B")
    with pytest.raises(MessageError, match="no data"):
        compressed_to_bgr8(msg)


def test_array_to_image_round_trip():
    bgr = RNG.integers(0, 255, size=(H, W, 3), dtype=np.uint8)
    header = Header(frame_id="cam")
    msg = array_to_image(bgr, header)
    assert (msg.encoding, msg.step, msg.header.frame_id) == ("bgr8", W * 3, "cam")
    np.testing.assert_array_equal(image_to_array(msg), bgr)
    gray = bgr[:, :, 0].copy()
    np.testing.assert_array_equal(image_to_array(array_to_image(gray)), gray)


def test_result_to_msg_keeps_header_and_clips_roi():
    labels = ("angry", "happy", "neutral")
    faces = [FaceEmotion(Box(-5.4, 10.2, 30.0, 20.0), 0.9, 7, "happy", 0.8,
                         np.array([0.1, 0.8, 0.1], np.float32)),
             FaceEmotion(Box(30.0, 15.0, 50.0, 50.0), 0.7, 8, "angry", 0.5,
                         np.array([0.5, 0.2, 0.3], np.float32))]
    header = Header(frame_id="cam")
    header.stamp.sec, header.stamp.nanosec = 12, 345
    msg = result_to_msg(FrameResult(faces, labels), header, "m", "1.0", (H, W))
    assert msg.header == header and list(msg.labels) == list(labels)
    assert (msg.model_name, msg.model_version) == ("m", "1.0")
    first, second = msg.faces
    assert (first.face_id, first.label) == (7, "happy")
    assert (first.roi.x_offset, first.roi.y_offset, first.roi.width, first.roi.height) == \
        (0, 10, 25, 14)
    assert (second.roi.x_offset, second.roi.width, second.roi.height) == (30, 10, 9)
    np.testing.assert_allclose(first.scores, [0.1, 0.8, 0.1], rtol=1e-6)
    empty = result_to_msg(FrameResult([], labels), header, "m", "1.0", (H, W))
    assert list(empty.faces) == [] and list(empty.labels) == list(labels)
