"""Probability panels of `fer-ros detect` (core.annotate.draw_probability_bars) on real faces."""
import numpy as np
import pytest

from fer_ros.core.annotate import draw_faces, draw_probability_bars
from fer_ros.core.config import PipelineConfig
from fer_ros.core.pipeline import Pipeline

import faces


@pytest.fixture(scope="module")
def pipeline(default_bundle):
    bundle = default_bundle
    return Pipeline(PipelineConfig.from_dict({"tracker": {"enabled": False}}), bundle)


@pytest.mark.parametrize("seed", range(4))
def test_panels_leave_other_faces_visible(shared_dir, pipeline, seed):
    images, labels = faces.fer2013_faces("PublicTest", limit=12)
    pick = slice(3 * seed, 3 * seed + 3)
    scene = faces.compose_frame(images[pick], list(labels[pick]), frame_size=(760, 420),
                                face_px=(90, 110), seed=seed)
    result = pipeline.process(scene.image)
    assert len(result.faces) >= 2, "need several faces to check the panel placement"
    plain, panels = draw_faces(scene.image, result), draw_probability_bars(scene.image, result)
    assert (plain != panels).any(), "no probability panel drawn"
    for face in result.faces:
        b = face.box  # the face's inside, clear of its own box line and caption
        y0, y1 = int(b.y + 0.2 * b.h), int(b.y + 0.9 * b.h)
        x0, x1 = int(b.x + 0.1 * b.w), int(b.x + 0.9 * b.w)
        assert np.array_equal(plain[y0:y1, x0:x1], panels[y0:y1, x0:x1]), \
            f"a probability panel covers the face at {b} although the frame had room"
