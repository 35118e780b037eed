"""Child process for test_dds_cross_process.py: echo one EmotionArray from one topic to another.

    python dds_echo_peer.py IN_TOPIC OUT_TOPIC [--timeout SECONDS]

Subscribes to IN_TOPIC; on the first message, waits until a subscriber of OUT_TOPIC is
matched, republishes the message unchanged on OUT_TOPIC, waits until it is acknowledged, and
exits 0. Exits 3 with a message on stderr if that does not happen within the timeout.
ROS_DOMAIN_ID / ROS_AUTOMATIC_DISCOVERY_RANGE come from the environment (the test sets them).
"""
from __future__ import annotations

import argparse
import sys
import time

import rclpy
from rclpy.duration import Duration
from rclpy.node import Node

from fer_ros_msgs.msg import EmotionArray

READY_LINE = "peer: ready"


def spin_until(node: Node, condition, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if condition():
            return True
        rclpy.spin_once(node, timeout_sec=0.05)
    return condition()


def echo_once(in_topic: str, out_topic: str, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    node = Node("fer_ros_test_echo_peer")
    received: list[EmotionArray] = []
    node.create_subscription(EmotionArray, in_topic, received.append, 10)
    publisher = node.create_publisher(EmotionArray, out_topic, 10)
    print(READY_LINE, flush=True)

    if not spin_until(node, lambda: bool(received), deadline):
        print(f"peer: no message on {in_topic} within {timeout_s} s", file=sys.stderr)
        return 3
    if not spin_until(node, lambda: publisher.get_subscription_count() > 0, deadline):
        print(f"peer: no subscriber matched on {out_topic} within {timeout_s} s", file=sys.stderr)
        return 3
    publisher.publish(received[0])
    remaining = max(deadline - time.monotonic(), 0.1)
    if not publisher.wait_for_all_acked(Duration(seconds=remaining)):
        print(f"peer: echo on {out_topic} not acknowledged within {timeout_s} s", file=sys.stderr)
        return 3
    node.destroy_node()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("in_topic")
    parser.add_argument("out_topic")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    rclpy.init()
    try:
        return echo_once(args.in_topic, args.out_topic, args.timeout)
    finally:
        rclpy.try_shutdown()


if __name__ == "__main__":
    sys.exit(main())
