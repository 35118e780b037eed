"""Every argument of `fer.launch.py` changes what it should, checked where it shows, with one
launch of the installed file through the real launch system:

    namespace:=fer_launch_ns image_topic:=/fer_launch_cam/image_raw
    model:=<share>/models/fer2013 backend:=onnxruntime annotate:=false compressed:=true

namespace -> node name and output topics; image_topic -> the subscription (and its
/compressed twin); model -> model_name in every EmotionArray; backend, annotate, compressed
-> the node's parameters, its diagnostics and what it publishes.
"""
from __future__ import annotations

import json
import os

import pytest

from launch_helpers import require_tools

require_tools()

import launch_pytest  # noqa: E402

from launch_helpers import (Recorder, check_reply, face_scenes, fer_launch,  # noqa: E402
                            no_traceback, probe_session, wait_ready)
from node_helpers import bgr_image_msg, jpeg_msg, require_runtime  # noqa: E402

pytestmark = [pytest.mark.ros, pytest.mark.shared_data, pytest.mark.slow]

RECORDER = Recorder()
NAMESPACE = "fer_launch_ns"
NODE = f"/{NAMESPACE}/fer_node"
IMAGE = "/fer_launch_cam/image_raw"          # outside the namespace, as a camera driver's
EMOTIONS, ANNOTATED = f"/{NAMESPACE}/emotions", f"{NODE}/annotated"


def _other_bundle() -> str:
    """The 7-class FER2013 bundle: not the default (FER+), so its name shows in the replies."""
    from ament_index_python.packages import get_package_share_directory
    return os.path.join(get_package_share_directory("fer_ros"), "models", "fer2013")


@launch_pytest.fixture(scope="module")
def override_launch():
    require_runtime()
    return fer_launch(RECORDER, namespace=NAMESPACE, image_topic=IMAGE, model=_other_bundle(),
                      backend="onnxruntime", annotate="false", compressed="true")


@pytest.fixture(scope="module")
def probe():
    from diagnostic_msgs.msg import DiagnosticArray
    from fer_ros_msgs.msg import EmotionArray
    from sensor_msgs.msg import Image
    with probe_session("fer_launch_override_probe",
                       {EMOTIONS: EmotionArray, "/emotions": EmotionArray, ANNOTATED: Image,
                        "/diagnostics": DiagnosticArray}) as probe:
        yield probe


@pytest.fixture(scope="module")
def scenes():
    return face_scenes(3)


def _parameters(probe, *names: str) -> dict:
    """Current values of ``names`` from the node's own get_parameters service."""
    from rcl_interfaces.srv import GetParameters
    from rclpy.parameter import parameter_value_to_python
    client = probe.node.create_client(GetParameters, f"{NODE}/get_parameters")
    try:
        probe.spin_until(client.service_is_ready, 30.0, f"{NODE}/get_parameters")
        future = client.call_async(GetParameters.Request(names=list(names)))
        probe.spin_until(future.done, 10.0, f"the reply of {NODE}/get_parameters")
        return {n: parameter_value_to_python(v) for n, v in zip(names, future.result().values)}
    finally:
        probe.node.destroy_client(client)


@pytest.mark.launch(fixture=override_launch)
def test_namespace_image_topic_and_model(probe, scenes):
    images = wait_ready(probe, RECORDER, IMAGE)
    names = {f"{ns.rstrip('/')}/{n}" for n, ns in probe.node.get_node_names_and_namespaces()}
    assert NODE in names, f"namespace:= must put the node at {NODE}; graph has {names}"
    bundle = json.loads(open(os.path.join(_other_bundle(), "model.json")).read())
    for i, scene in enumerate(scenes):
        sent = bgr_image_msg(scene.image, i)
        reply = probe.send_and_wait(images, sent, EMOTIONS)
        check_reply(reply, sent, scene, bundle["labels"])
        assert (reply.model_name, reply.model_version) == (bundle["name"], bundle["version"]), \
            "model:= must select the bundle the EmotionArray names"
    assert not probe.received["/emotions"], "with namespace:= nothing may go to /emotions"


@pytest.mark.launch(fixture=override_launch)
def test_backend_annotate_and_compressed(probe, scenes):
    from sensor_msgs.msg import CompressedImage
    values = _parameters(probe, "pipeline.classifier.bundle", "pipeline.classifier.backend",
                         "annotate.enabled", "input.compressed")
    assert values == {"pipeline.classifier.bundle": _other_bundle(),
                      "pipeline.classifier.backend": "onnxruntime",
                      "annotate.enabled": False, "input.compressed": True}, values
    # compressed:=true -> <image_topic>/compressed is subscribed and answered.
    jpegs = wait_ready(probe, RECORDER, IMAGE + "/compressed", CompressedImage)
    sent = jpeg_msg(scenes[0].image, 50)
    reply = probe.send_and_wait(jpegs, sent, EMOTIONS)
    assert len(reply.faces) == len(scenes[0].boxes), f"JPEG frame: {len(reply.faces)} faces"
    # annotate:=false -> nothing on ~/annotated although the probe subscribes to it.
    images = wait_ready(probe, RECORDER, IMAGE)
    for i, scene in enumerate(scenes):
        probe.send_and_wait(images, bgr_image_msg(scene.image, 60 + i), EMOTIONS)
    probe.spin_until(lambda: probe.last_diagnostics(node_name=NODE), 15.0, "diagnostics")
    diagnostics = probe.last_diagnostics(node_name=NODE)
    assert diagnostics["backend"] == "onnxruntime-cpu", diagnostics
    assert diagnostics["annotated_published"] == "0", diagnostics
    assert not probe.received[ANNOTATED], "annotate:=false, yet ~/annotated was published"


@pytest.mark.launch(fixture=override_launch, shutdown=True)
def test_shutdown_is_clean():
    output = RECORDER.output()
    assert RECORDER.exits == {"fer_node": 0}, f"exit codes {RECORDER.exits}:\n{output}"
    no_traceback(output, "fer_node")
