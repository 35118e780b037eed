"""`fer-ros bag-play` publishes a bag's image topics through real DDS to a subscriber in
another process, with the recorded stamps, order and pixels."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from bag_helpers import fer2013_csv, small_bag
from conftest import import_ros

pytestmark = [pytest.mark.ros, pytest.mark.shared_data, pytest.mark.slow]

DEADLINE_S = 90.0  # discovery + 1 s of playback on a loaded 2-core machine


def test_bag_play_reaches_a_live_subscriber(shared_dir, tmp_path, ros_env, rclpy_context,
                                            unique_topic):
    rclpy = import_ros("rclpy")
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image

    from fer_ros.bag.images import decode_frame, stamp_ns
    from fer_ros.bag.reader import BagImageReader
    from fer_ros.ros.convert import compressed_to_bgr8, image_to_bgr8

    bag, _ = small_bag(tmp_path, fer2013_csv(shared_dir), seconds=1.0)
    recorded = {}
    for item in BagImageReader(bag):
        recorded.setdefault(item.topic, []).append(
            (stamp_ns(item.msg.header), decode_frame(item.msg, item.msgtype)))
    raw_topic, jpeg_topic = f"{unique_topic}/image_raw", f"{unique_topic}/image_raw/compressed"

    node = rclpy.create_node("bag_play_probe", context=rclpy_context)
    got = {raw_topic: [], jpeg_topic: []}
    qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(Image, raw_topic, got[raw_topic].append, qos)
    node.create_subscription(CompressedImage, jpeg_topic, got[jpeg_topic].append, qos)
    executor = rclpy.executors.SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    player = subprocess.Popen(
        [sys.executable, "-m", "fer_ros", "bag-play", str(bag), "--depth", "50",
         "--wait-subscribers", "60", "--remap", f"/camera/image_raw:={raw_topic}",
         f"/camera/image_raw/compressed:={jpeg_topic}"],
        env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline and (
                len(got[raw_topic]) < 15 or len(got[jpeg_topic]) < 15):
            executor.spin_once(timeout_sec=0.1)
        output = player.communicate(timeout=30)[0]
    finally:
        if player.poll() is None:
            player.kill()
        node.destroy_node()
    assert player.returncode == 0, output
    assert "published 30 messages on 2 topic(s)" in output
    for topic, source in (("/camera/image_raw", raw_topic),
                          ("/camera/image_raw/compressed", jpeg_topic)):
        stamps = [m.header.stamp.sec * 1_000_000_000 + m.header.stamp.nanosec
                  for m in got[source]]
        assert stamps == [s for s, _ in recorded[topic]], f"{source}: stamps or order differ"
    # byte-for-byte republishing: the decoded pixels are the recorded ones
    assert np.array_equal(image_to_bgr8(got[raw_topic][7]), recorded["/camera/image_raw"][7][1])
    assert np.array_equal(compressed_to_bgr8(got[jpeg_topic][3]),
                          recorded["/camera/image_raw/compressed"][3][1])


def test_bag_play_timing_follows_the_recording(shared_dir, tmp_path, ros_env):
    """A 1 s bag at --rate 0.5 takes about 2 s of publishing (measured by the player)."""
    bag, _ = small_bag(tmp_path, fer2013_csv(shared_dir), seconds=1.0, raw=False)
    done = subprocess.run([sys.executable, "-m", "fer_ros", "bag-play", str(bag),
                           "--rate", "0.5"], env=ros_env, text=True, capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    seconds = float(done.stdout.rsplit(" in ", 1)[1].split(" s")[0])
    # 15 frames at 15 fps span 14/15 s of log time -> 1.87 s at half speed
    assert 1.8 <= seconds <= 4.0, done.stdout


@pytest.mark.parametrize("args, message", [
    (["--remap", "nonsense"], "expected FROM:=TO"),
    (["--rate", "0"], "--rate must be > 0"),
    (["--topics", "/nope"], "/nope"),
])
def test_bag_play_bad_arguments(shared_dir, tmp_path, ros_env, args, message):
    bag, _ = small_bag(tmp_path, fer2013_csv(shared_dir), seconds=0.2, raw=False)
    done = subprocess.run([sys.executable, "-m", "fer_ros", "bag-play", str(bag), *args],
                          env=dict(ros_env, PYTHONPATH=os.environ.get("PYTHONPATH", "")),
                          text=True, capture_output=True, timeout=120)
    assert done.returncode == 2 and message in done.stderr, done.stderr
