"""The one preprocessing: crop geometry and tensor values (property-based), and identical
tensors for training-time and run-time paths on the same real face."""
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fer_ros.core.errors import InputError
from fer_ros.core.preprocess import InputSpec, face_to_tensor, preprocess_faces, square_crop

import faces


def coordinate_image(height: int, width: int) -> np.ndarray:
    """float32 image whose pixel value encodes its own position: y * 1000 + x."""
    ys, xs = np.mgrid[0:height, 0:width]
    return (ys * 1000 + xs).astype(np.float32)


@settings(max_examples=200, deadline=None)
@given(height=st.integers(1, 120), width=st.integers(1, 120),
       x=st.floats(-80, 160), y=st.floats(-80, 160),
       w=st.floats(0.5, 150), h=st.floats(0.5, 150), margin=st.floats(0, 1))
def test_square_crop_is_the_centred_square_with_replicated_borders(height, width, x, y, w, h,
                                                                    margin):
    image = coordinate_image(height, width)
    side = max(1, int(round(max(w, h) * (1 + 2 * margin))))
    x0 = int(np.floor(x + w / 2 - side / 2))
    y0 = int(np.floor(y + h / 2 - side / 2))
    outside = x0 >= width or y0 >= height or x0 + side <= 0 or y0 + side <= 0
    if outside:
        with pytest.raises(InputError, match="outside"):
            square_crop(image, (x, y, w, h), margin)
        return
    crop = square_crop(image, (x, y, w, h), margin)
    assert crop.shape == (side, side)
    # every output pixel is the source pixel at its position, clamped into the image
    rows = np.clip(np.arange(y0, y0 + side), 0, height - 1)
    cols = np.clip(np.arange(x0, x0 + side), 0, width - 1)
    assert np.array_equal(crop, image[rows][:, cols])


@pytest.mark.parametrize("box", [(0, 0, 0, 10), (0, 0, 10, -1), (np.nan, 0, 5, 5),
                                 (0, np.inf, 5, 5)])
def test_square_crop_rejects_degenerate_boxes(box):
    with pytest.raises(InputError, match="finite coordinates and positive size"):
        square_crop(np.zeros((20, 20), np.uint8), box, 0.1)


specs = st.builds(
    lambda size, channels, mean, std, margin: InputSpec(size, channels, (mean,) * channels,
                                                        (std,) * channels, margin),
    st.integers(8, 72), st.sampled_from([1, 3]), st.floats(0, 1), st.floats(0.05, 2),
    st.floats(0, 0.5))


@settings(max_examples=60, deadline=None)
@given(spec=specs, value=st.integers(0, 255), height=st.integers(1, 90),
       width=st.integers(1, 90), colour=st.booleans())
def test_face_to_tensor_shape_dtype_and_normalisation(spec, value, height, width, colour):
    shape = (height, width, 3) if colour else (height, width)
    face = np.full(shape, value, np.uint8)
    tensor = face_to_tensor(face, spec)
    assert tensor.shape == (spec.channels, spec.size, spec.size)
    assert tensor.dtype == np.float32
    expected = (np.float32(value) * np.float32(1 / 255) - np.float32(spec.mean[0])) \
        / np.float32(spec.std[0])
    np.testing.assert_allclose(tensor, expected, rtol=1e-5, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(b=st.integers(0, 255), g=st.integers(0, 255), r=st.integers(0, 255))
def test_face_to_tensor_rgb_channel_order(b, g, r):
    spec = InputSpec(size=16, channels=3, mean=(0, 0, 0), std=(1, 1, 1), crop_margin=0)
    tensor = face_to_tensor(np.dstack([np.full((20, 20), v, np.uint8) for v in (b, g, r)]), spec)
    np.testing.assert_allclose(tensor[:, 0, 0], np.array([r, g, b], np.float32) / 255, rtol=1e-6)


def test_face_to_tensor_gray_equals_bgr_converted():
    spec = InputSpec(size=32, channels=1)
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (50, 50, 3), dtype=np.uint8)
    import cv2
    np.testing.assert_array_equal(face_to_tensor(bgr, spec),
                                  face_to_tensor(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), spec))


def test_face_to_tensor_rejects_wrong_dtype_and_shape():
    spec = InputSpec()
    with pytest.raises(InputError, match="uint8"):
        face_to_tensor(np.zeros((10, 10), np.float32), spec)
    with pytest.raises(InputError, match="channels"):
        face_to_tensor(np.zeros((10, 10, 4), np.uint8), spec)
    with pytest.raises(InputError, match="HxW"):
        face_to_tensor(np.zeros((0, 10), np.uint8), spec)


def test_training_and_runtime_preprocessing_give_identical_tensors(shared_dir):
    """A real FER2013 face pasted unscaled into a frame, cut out again by the runtime crop
    from a detector-like box, becomes exactly the tensor training made from the crop."""
    pytest.importorskip("torch", reason="training code needs torch")
    from fer_ros.training.config import TrainConfig
    from fer_ros.training.data import FaceSet, to_tensor_batch
    from fer_ros.training.train import input_spec

    spec = input_spec(TrainConfig())  # what `fer-ros train` uses by default
    images, labels = faces.fer2013_faces("PublicTest", limit=16)
    # box side s with round(s * (1 + 2m)) == 48 and centred so the crop is exactly the face
    side = next(s for s in range(1, 49) if round(s * (1 + 2 * spec.crop_margin)) == 48)
    offset = (48 - side) / 2
    frame = np.zeros((200, 48 * len(images) + 50), np.uint8)
    boxes = []
    for i, image in enumerate(images):
        x, y = 10 + 48 * i, 70
        frame[y:y + 48, x:x + 48] = image
        boxes.append((x + offset, y + offset, side, side))
    runtime = preprocess_faces(frame, boxes, spec)
    training = to_tensor_batch(FaceSet(list(images), labels, faces.FER2013_LABELS), spec)
    assert runtime.shape == training.shape
    np.testing.assert_array_equal(runtime, training)


def test_default_bundle_input_spec_matches_its_training_config(default_bundle):
    """The bundle's preprocessing metadata is what training used (no silent drift)."""
    pytest.importorskip("torch", reason="training code needs torch")
    from fer_ros.training.config import TrainConfig
    from fer_ros.training.train import input_spec

    bundle = default_bundle
    config = bundle.metadata.get("training", {}).get("config")
    if not config:
        pytest.skip("default bundle metadata has no training.config")
    # crop_margin is excluded: training never crops (dataset images are already face crops);
    # it only frames detector boxes at runtime and is chosen at export (--crop-margin).
    trained = dataclasses.replace(input_spec(TrainConfig.from_dict(config)),
                                  crop_margin=bundle.input_spec.crop_margin)
    assert bundle.input_spec == trained, "the bundle's preprocessing differs from training's"
