"""`fer-ros serve --image-topic`: the live view fed over DDS by a test publisher, beside a
real fer_node whose /diagnostics the page shows."""
from __future__ import annotations

import json
import time
import urllib.request

import cv2
import numpy as np
import pytest

from fer_ros.core.labels import canonical_label

from conftest import import_ros
from node_helpers import Probe, bgr_image_msg, require_runtime, start_node, stop_node
from serve_helpers import ck_scene, request, running_server

pytestmark = [pytest.mark.ros, pytest.mark.shared_data, pytest.mark.slow]
TIMEOUT_S = 60.0


def _state(url: str) -> dict:
    status, raw = request(f"{url}api/live/state")
    assert status == 200, raw
    return json.loads(raw)


def _first_mjpeg_frame(url: str) -> np.ndarray:
    """Read the stream endpoint until one whole JPEG part arrived; decode it."""
    with urllib.request.urlopen(f"{url}api/live/stream.mjpg", timeout=30) as stream:
        assert stream.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        buffer = b""
        while b"\xff\xd9" not in buffer:  # JPEG end-of-image marker
            buffer += stream.read1(65536)
    start = buffer.index(b"\xff\xd8")
    image = cv2.imdecode(np.frombuffer(buffer[start:buffer.index(b"\xff\xd9") + 2], np.uint8),
                         cv2.IMREAD_COLOR)
    assert image is not None, "the stream's first part is not a JPEG"
    return image


def test_live_view_shows_the_topic_with_overlays_timeline_and_diagnostics(
        rclpy_context, ros_env, unique_topic):
    require_runtime()
    Image = import_ros("sensor_msgs.msg").Image
    probe = Probe(rclpy_context, "fer_serve_test_camera")
    node = start_node(ros_env, image_topic=unique_topic)
    try:
        with running_server("--image-topic", unique_topic, env=ros_env) as (url, process):
            publisher = probe.publisher(Image, unique_topic, reliable=True, depth=2)
            probe.spin_until(lambda: publisher.get_subscription_count() >= 2, TIMEOUT_S,
                             "the live view and fer_node to subscribe to the camera")
            frame = ck_scene("happy", 0)
            deadline, index, state = time.monotonic() + TIMEOUT_S, 0, {}
            while time.monotonic() < deadline:
                publisher.publish(bgr_image_msg(frame, index))
                index += 1
                probe.executor.spin_once(timeout_sec=0.2)
                state = _state(url)
                tracks = state["timeline"]
                if (state["faces"] and state["diagnostics"] and tracks
                        and max(len(points) for points in tracks.values()) >= 3):
                    break
            else:
                raise AssertionError(f"live view incomplete after {TIMEOUT_S} s of frames: "
                                     f"{json.dumps(state)[:1500]}")
            assert [canonical_label(f["label"]) for f in state["faces"]] == ["happy"], state["faces"]
            track_id, points = next(iter(state["timeline"].items()))
            assert int(track_id) >= 0 and all(canonical_label(p[1]) == "happy" for p in points), points
            assert all(state["now"] - p[0] <= state["window_s"] for p in points)
            diagnostics = state["diagnostics"][0]
            assert diagnostics["name"].startswith("fer_ros:"), diagnostics
            assert "processed_rate_hz" in diagnostics["values"], diagnostics
            assert state["frames_processed"] >= 3 and state["errors"] == 0, state
            annotated = _first_mjpeg_frame(url)
            assert annotated.shape == frame.shape, "the stream shows the camera's frames"
            assert np.abs(annotated.astype(int) - frame).max() > 100, \
                "the streamed frame has no overlay drawn on it"
    finally:
        code, output = stop_node(node)
        probe.close()
    assert code == 0, output[-2000:]


def test_live_tab_in_a_browser(rclpy_context, ros_env, unique_topic):
    """The 'Watch the robot' tab in headless Chromium: MJPEG image, faces, timeline."""
    import threading

    from browser_helpers import screenshot, start_browser, wait_for
    require_runtime()
    Image = import_ros("sensor_msgs.msg").Image
    probe = Probe(rclpy_context, "fer_serve_test_camera")
    stop = threading.Event()
    with running_server("--image-topic", unique_topic, env=ros_env) as (url, process):
        publisher = probe.publisher(Image, unique_topic, reliable=True, depth=2)
        probe.spin_until(lambda: publisher.get_subscription_count() >= 1, TIMEOUT_S,
                         "the live view to subscribe to the camera")
        frame = ck_scene("surprise", 0)

        def camera():
            index = 0
            while not stop.wait(0.2):  # a 5 Hz camera
                publisher.publish(bgr_image_msg(frame, index))
                index += 1
        thread = threading.Thread(target=camera, daemon=True)
        thread.start()
        driver = start_browser()
        try:
            driver.get(f"{url}#live")
            script = ("return [Array.from(document.querySelectorAll('#live-faces .face-label'),"
                      " e => e.textContent), document.getElementById('live-image').naturalWidth,"
                      " document.querySelectorAll('#timeline rect.tl').length]")
            labels, width, marks = wait_for(
                lambda: (lambda v: v if v[0] and v[1] and v[2] >= 3 else None)(
                    driver.execute_script(script)),
                TIMEOUT_S, "live faces, the MJPEG image and timeline marks", driver)
            assert [canonical_label(x) for x in labels] == ["surprise"] and width == frame.shape[1], (labels, width)
            screenshot(driver, "live.png")
        finally:
            driver.quit()
            stop.set()
            thread.join()
            probe.close()
