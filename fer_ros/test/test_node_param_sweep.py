"""Every runtime parameter of fer_node, every value: while frames with real faces flow from
this process to the node process over DDS, each runtime-changeable parameter of the node's
table (fer_ros.ros.params.PARAMETERS) is set to each of its choices and to both ends of its
range, then back to its default. After every change the node must answer every frame with a
valid EmotionArray and, at the end, must have logged no processing error.

Values the node must refuse (outside what the core accepts) are set too: the refusal must
come back to the caller and the node must keep publishing.
"""
from __future__ import annotations

import array
import os
import uuid

import cv2
import numpy as np
import pytest

from fer_ros.core.bundle import load_bundle

from faces import FER2013_LABELS, compose_frame, fer2013_faces
from node_helpers import (Probe, bgr_image_msg, node_ready, require_runtime, set_parameters,
                          stamped, start_node, stop_node)

pytestmark = [pytest.mark.ros, pytest.mark.shared_data, pytest.mark.slow]

rclpy = pytest.importorskip("rclpy", reason="rclpy not importable: source install/setup.bash")

FRAMES_PER_STEP = 2
# Inside the declared range but refused by the core (non-zero detect_max_side must be >= 32):
# the node must refuse them when they are set, not fail later on a frame.
REFUSED = {"pipeline.detector.detect_max_side": (1, 31)}
# Values beyond the declared range limits (the ends themselves are swept).
EXTRA = {"pipeline.detector.detect_max_side": (32,)}


def _cast(spec, value):
    return float(value) if isinstance(spec.default, float) else int(value)


def _values(spec) -> list:
    """The sweep of one parameter: both booleans, every choice, or both range ends."""
    if isinstance(spec.default, bool):
        return [not spec.default]
    if spec.choices:
        return [c for c in spec.choices if c != spec.default]
    low, high = spec.range
    return [_cast(spec, v) for v in (low, high, *EXTRA.get(spec.name, ()))]


def _ordered(name: str, value, defaults: dict) -> dict:
    """The changes that set ``name`` to ``value`` without breaking warn <= error: the partner
    limit moves first when needed (the node applies a list of changes in order)."""
    for mine, other in (("warn_", "error_"), ("error_", "warn_")):
        if name.startswith(f"diagnostics.{mine}"):
            partner = name.replace(mine, other)
            broken = value > defaults[partner] if mine == "warn_" else value < defaults[partner]
            if broken:
                return {partner: value, name: value}
    return {name: value}


def sweep_steps() -> list[tuple[dict, dict]]:
    """[(changes, restore)] for every runtime parameter and value."""
    from fer_ros.ros.params import PARAMETERS
    defaults = {s.name: s.default for s in PARAMETERS}
    steps = []
    for spec in PARAMETERS:
        if not spec.runtime:
            continue
        for value in _values(spec):
            changes = _ordered(spec.name, value, defaults)
            restore = {k: defaults[k] for k in reversed(list(changes))}
            steps.append((changes, restore))
    return steps


def test_sweep_covers_every_runtime_parameter():
    from fer_ros.ros.params import PARAMETERS
    covered = {name for changes, _ in sweep_steps() for name in changes}
    runtime = {s.name for s in PARAMETERS if s.runtime}
    assert covered == runtime, f"not swept: {runtime - covered}"


def _mono16(image: np.ndarray, index: int):
    """The frame as a 16-bit grey image (exercises input.depth16)."""
    from sensor_msgs.msg import Image
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257
    msg = Image(height=grey.shape[0], width=grey.shape[1], encoding="mono16",
                is_bigendian=0, step=int(grey.strides[0]))
    msg.data = array.array("B", grey.tobytes())
    return stamped(msg, index)


class Sweep:
    """The node process, the probe, and the frames it sends."""

    def __init__(self, process, probe, namespace: str, scenes) -> None:
        self.process, self.probe, self.scenes = process, probe, scenes
        self.name, self.emotions = f"{namespace}/fer_node", f"{namespace}/emotions"
        self.annotated = f"{self.name}/annotated"
        self.images = None
        self.sent = 0

    def frames(self, current: dict) -> None:
        """Send FRAMES_PER_STEP frames one at a time; each must get a valid answer."""
        for _ in range(FRAMES_PER_STEP):
            scene = self.scenes[self.sent % len(self.scenes)]
            index = 1000 + self.sent
            msg = _mono16(scene.image, index) if self.sent % 2 else \
                bgr_image_msg(scene.image, index)
            self.sent += 1
            reply = self.probe.send_and_wait(self.images, msg, self.emotions)
            _check(reply, msg, current)


def _check(reply, sent, current: dict) -> None:
    from fer_ros_msgs.msg import Emotion
    settings = f"with {current}"
    assert reply.header == sent.header, f"header not copied {settings}"
    assert len(reply.labels) == len(load_bundle(None).labels) and reply.model_name, f"labels/model missing {settings}"
    assert len(reply.faces) <= current["pipeline.detector.max_faces"], settings
    for face in reply.faces:
        scores = np.asarray(face.scores)
        assert len(scores) == len(reply.labels), settings
        assert face.label == reply.labels[int(np.argmax(scores))], settings
        assert abs(face.confidence - float(scores.max())) < 1e-6, settings
        assert abs(float(scores.sum()) - 1.0) < 1e-3 and np.all(scores >= 0), settings
        assert face.roi.width > 0 and face.roi.height > 0, settings
        untracked = face.face_id == Emotion.FACE_ID_UNTRACKED
        assert untracked != current["pipeline.tracker.enabled"], \
            f"face_id {face.face_id} {settings}"


@pytest.fixture(scope="module")
def sweep():
    require_runtime()
    from fer_ros_msgs.msg import EmotionArray
    from sensor_msgs.msg import Image
    images, labels = fer2013_faces("PublicTest", limit=9)
    scenes = [compose_frame(images[3 * i:3 * i + 3],
                            [FER2013_LABELS[k] for k in labels[3 * i:3 * i + 3]], seed=70 + i)
              for i in range(3)]
    namespace = f"/fer_sweep_{uuid.uuid4().hex[:8]}"
    process = start_node(dict(os.environ, PYTHONUNBUFFERED="1"), namespace=namespace,
                         image_topic=f"{namespace}/camera/image_raw")
    context = rclpy.Context()
    rclpy.init(context=context)
    probe = Probe(context, "fer_sweep_probe")
    running = Sweep(process, probe, namespace, scenes)
    probe.subscribe(EmotionArray, running.emotions)
    probe.subscribe(Image, running.annotated, depth=5)  # annotated is drawn only when watched
    try:
        running.images = node_ready(probe, process, f"{namespace}/camera/image_raw")
        yield running
    finally:
        probe.close()
        rclpy.try_shutdown(context=context)
        stop_node(process)


def test_every_runtime_parameter_every_value_keeps_publishing(sweep):
    from fer_ros.ros.params import PARAMETERS
    current = {s.name: s.default for s in PARAMETERS}
    sweep.frames(current)
    for changes, restore in sweep_steps():
        for step in (changes, restore):
            results = set_parameters(sweep.probe, sweep.name, step)
            refused = [(n, r.reason) for n, r in zip(step, results) if not r.successful]
            assert not refused, f"the node refused {refused}"
            current.update(step)
            sweep.frames(current)
    for name, values in REFUSED.items():
        for value in values:
            result = set_parameters(sweep.probe, sweep.name, {name: value})[0]
            assert not result.successful and name.split(".")[-1] in result.reason, \
                f"{name} = {value} must be refused with a reason, got {result}"
            sweep.frames(current)
    assert sweep.probe.received[sweep.annotated], "annotate.enabled true: nothing drawn"
    _, output = stop_node(sweep.process)
    for bad in ("processing failed", "Traceback", "Exception"):
        assert bad not in output, f"the node logged {bad!r}:\n{output[-3000:]}"
    assert sweep.process.returncode == 0, output[-3000:]
