"""to_bgr8 / check_frame: every supported encoding decodes to the right pixels; bad input
raises InputError naming the problem."""
import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fer_ros.core.errors import InputError
from fer_ros.core.image import (MAX_IMAGE_PIXELS, MIN_IMAGE_SIDE, SUPPORTED_ENCODINGS,
                                check_frame, to_bgr8)

sides = st.integers(MIN_IMAGE_SIDE, 40)


def bgr_images():
    return st.tuples(sides, sides).flatmap(
        lambda hw: arrays(np.uint8, (hw[0], hw[1], 3)))


@settings(max_examples=40, deadline=None)
@given(bgr_images())
def test_colour_encodings_decode_to_the_same_bgr(bgr):
    rgb = bgr[:, :, ::-1].copy()
    alpha = np.full(bgr.shape[:2] + (1,), 200, np.uint8)
    assert np.array_equal(to_bgr8(bgr, "bgr8"), bgr)
    assert np.array_equal(to_bgr8(rgb, "rgb8"), bgr)
    assert np.array_equal(to_bgr8(np.concatenate([bgr, alpha], 2), "bgra8"), bgr)
    assert np.array_equal(to_bgr8(np.concatenate([rgb, alpha], 2), "rgba8"), bgr)


@settings(max_examples=40, deadline=None)
@given(bgr_images())
def test_16bit_encodings_scale_onto_8bit(bgr):
    wide = bgr.astype(np.uint16) * 257  # 8-bit value v -> 16-bit v * 257 (full range)
    assert np.array_equal(to_bgr8(wide, "bgr16"), bgr)
    assert np.array_equal(to_bgr8(wide[:, :, ::-1].copy(), "rgb16"), bgr)
    assert np.array_equal(to_bgr8(wide[:, :, 0], "mono16"), bgr[:, :, 0])
    assert np.array_equal(to_bgr8(wide[:, :, 0], "16UC1"), bgr[:, :, 0])


@settings(max_examples=40, deadline=None)
@given(st.tuples(sides, sides).flatmap(lambda hw: arrays(np.uint16, hw)))
def test_normalize_mode_stretches_the_frame_range(gray16):
    out = to_bgr8(gray16, "mono16", depth16="normalize")
    assert out.dtype == np.uint8 and out.shape == gray16.shape
    if gray16.max() > gray16.min():
        assert out.min() == 0 and out.max() == 255
        # order is preserved: brighter input pixels never become darker
        flat_in, flat_out = gray16.ravel(), out.ravel().astype(int)
        order = np.argsort(flat_in, kind="stable")
        assert np.all(np.diff(flat_out[order]) >= 0)


@settings(max_examples=30, deadline=None)
@given(st.tuples(sides, sides).flatmap(lambda hw: arrays(np.uint8, hw)))
def test_mono_passes_through_gray(gray):
    assert np.array_equal(to_bgr8(gray, "mono8"), gray)
    assert np.array_equal(to_bgr8(gray[:, :, None], "mono8"), gray)


def test_yuv422_decodes_like_opencv():
    rng = np.random.default_rng(0)
    packed = rng.integers(0, 256, (24, 32, 2), dtype=np.uint8)
    assert np.array_equal(to_bgr8(packed, "yuv422"),
                          cv2.cvtColor(packed, cv2.COLOR_YUV2BGR_UYVY))
    assert np.array_equal(to_bgr8(packed, "yuv422_yuy2"),
                          cv2.cvtColor(packed, cv2.COLOR_YUV2BGR_YUY2))


def test_every_supported_encoding_has_a_working_decoder():
    shapes = [(20, 20), (20, 20, 2), (20, 20, 3), (20, 20, 4)]
    for enc in SUPPORTED_ENCODINGS:
        decoded = []
        for shape in shapes:
            for dtype in (np.uint8, np.uint16):
                try:
                    decoded.append(to_bgr8(np.zeros(shape, dtype), enc))
                except InputError:
                    pass
        assert decoded, f"no array shape/dtype decodes with encoding {enc}"
        assert all(out.dtype == np.uint8 and out.ndim in (2, 3) for out in decoded), enc


@pytest.mark.parametrize("array, encoding, message", [
    (np.zeros((20, 20, 3), np.uint16), "bgr8", "needs uint8"),
    (np.zeros((20, 20), np.uint8), "mono16", "needs uint16"),
    (np.zeros((20, 20, 4), np.uint8), "bgr8", "HxWx3"),
    (np.zeros((20, 20, 3), np.uint8), "mono8", "HxW"),
    (np.zeros((20, 20, 3), np.float32), "32FC1", "unsupported image encoding"),
    (np.zeros((20, 20, 3), np.uint8), "bayer_rggb8", "unsupported image encoding"),
    (np.zeros((0, 0, 3), np.uint8), "bgr8", "at least"),
    (np.zeros((1, 1, 3), np.uint8), "bgr8", "at least"),
    ([[1, 2], [3, 4]], "mono8", "numpy array"),
])
def test_bad_images_raise_input_error_naming_the_problem(array, encoding, message):
    with pytest.raises(InputError, match=message):
        to_bgr8(array, encoding)


def test_unknown_depth16_mode_is_refused():
    with pytest.raises(InputError, match="depth16"):
        to_bgr8(np.zeros((20, 20), np.uint16), "mono16", depth16="clip")


def test_check_frame_refuses_huge_frames_without_allocating_them():
    # a broadcast view has the shape of a huge frame but no memory behind it
    huge = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (8000, 8000, 3))
    assert huge.shape[0] * huge.shape[1] > MAX_IMAGE_PIXELS
    with pytest.raises(InputError, match="above the limit"):
        check_frame(huge)


@pytest.mark.parametrize("frame, message", [
    (np.zeros((40, 40, 4), np.uint8), "to_bgr8"),
    (np.zeros((40, 40, 3), np.float32), "uint8"),
    (np.zeros((40, 40, 3), np.uint16), "uint8"),
    (np.zeros((40,), np.uint8), "HxW"),
    (np.zeros((1, 640), np.uint8), "at least"),
])
def test_check_frame_errors(frame, message):
    with pytest.raises(InputError, match=message):
        check_frame(frame)


def test_check_frame_accepts_gray_bgr_and_single_channel():
    assert check_frame(np.zeros((48, 64), np.uint8)).shape == (48, 64)
    assert check_frame(np.zeros((48, 64, 3), np.uint8)).shape == (48, 64, 3)
    assert check_frame(np.zeros((48, 64, 1), np.uint8)).shape == (48, 64)
