"""Two separate processes exchange an EmotionArray over DDS (Fast DDS via rmw_fastrtps_cpp).

This test process publishes on topic A; a child process (dds_echo_peer.py) receives it and
publishes it back on topic B; this process must receive exactly what it sent. Both directions
cross a process boundary. Discovery is waited for with deadline loops on matched endpoints,
never with blind sleeps. The domain is isolated by conftest.py (random ROS_DOMAIN_ID,
localhost-only discovery) and the topics are unique to the test.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

import rclpy
from rclpy.executors import SingleThreadedExecutor

from fer_ros_msgs.msg import EmotionArray
from test_msgs import make_array  # the same real-valued message the serialization tests use

pytestmark = [pytest.mark.ros, pytest.mark.slow]

PEER = Path(__file__).with_name("dds_echo_peer.py")
TIMEOUT_S = 30.0  # discovery takes ~3 s here; generous for a loaded 2-core machine


def spin_until(executor, condition, deadline: float, peer: subprocess.Popen) -> bool:
    """Spin until condition() holds, the deadline passes, or the peer process dies."""
    while time.monotonic() < deadline:
        if condition():
            return True
        if peer.poll() is not None:
            return condition()
        executor.spin_once(timeout_sec=0.05)
    return condition()


def peer_output(peer: subprocess.Popen) -> str:
    if peer.poll() is None:
        peer.kill()
    out, err = peer.communicate(timeout=10)
    return f"peer exit code {peer.returncode}\nstdout:\n{out}\nstderr:\n{err}"


def test_emotion_array_crosses_process_boundary_both_ways(rclpy_context, ros_env, unique_topic):
    to_peer, from_peer = unique_topic + "/to_peer", unique_topic + "/from_peer"
    node = rclpy.create_node("fer_ros_test_dds", context=rclpy_context)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    received: list[EmotionArray] = []
    node.create_subscription(EmotionArray, from_peer, received.append, 10)
    publisher = node.create_publisher(EmotionArray, to_peer, 10)
    sent = make_array()

    peer = subprocess.Popen([sys.executable, str(PEER), to_peer, from_peer,
                             "--timeout", str(TIMEOUT_S)],
                            env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        matched = spin_until(executor, lambda: publisher.get_subscription_count() > 0,
                             deadline, peer)
        assert matched, "the peer's subscription never matched our publisher\n" + peer_output(peer)

        publisher.publish(sent)
        got = spin_until(executor, lambda: bool(received), deadline, peer)
        assert got, "no EmotionArray came back from the peer\n" + peer_output(peer)

        assert peer.wait(timeout=TIMEOUT_S) == 0, peer_output(peer)
    finally:
        if peer.poll() is None:
            peer.kill()
            peer.wait()
        executor.shutdown()
        node.destroy_node()

    assert received[0] == sent
    assert received[0].faces[1].face_id == 4_000_000_000
    assert list(received[0].faces[0].scores) == list(sent.faces[0].scores)
