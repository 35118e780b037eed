"""How many camera-sized images reach a subscriber in another process, per QoS.

    python -m fer_ros.tools.delivery_check --size 640x480 --rate 7 --frames 30 \
        --publisher reliable --subscriber best_effort --json out/delivery.json

Publishes ``--frames`` bgr8 images at ``--rate`` Hz from this process to a subscriber
started as a child process (the way a camera driver and fer_node run), then writes the
count received as JSON. Use it to check a DDS setup (e.g. the Fast DDS profile
config/fastdds_large_images.xml) before blaming the node for missing frames.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

TOPIC = "/fer_ros_delivery_check/image"


def _qos(reliability: str, depth: int):
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    policy = {"reliable": ReliabilityPolicy.RELIABLE,
              "best_effort": ReliabilityPolicy.BEST_EFFORT}[reliability]
    return QoSProfile(depth=depth, reliability=policy)


def listen(args) -> int:
    """Child: count images until ``--idle`` seconds pass without one; print the count."""
    import rclpy
    from sensor_msgs.msg import Image
    rclpy.init()
    node = rclpy.create_node("delivery_check_listener")
    received = []
    node.create_subscription(Image, TOPIC, lambda m: received.append(m.header.stamp.sec),
                             _qos(args.subscriber, 1))
    print("ready", flush=True)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
        if received and Path(args.done_file).exists():
            break
    for _ in range(20):  # drain what is still in flight
        rclpy.spin_once(node, timeout_sec=0.05)
    print(json.dumps({"received": len(set(received))}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


def publish(args) -> int:
    import numpy as np
    import rclpy
    from sensor_msgs.msg import Image
    from fer_ros.ros.convert import array_to_image
    width, height = (int(v) for v in args.size.split("x"))
    done = Path(args.done_file)
    done.unlink(missing_ok=True)
    child = subprocess.Popen([sys.executable, "-m", "fer_ros.tools.delivery_check", "--listen",
                              "--subscriber", args.subscriber, "--done-file", str(done),
                              "--timeout", str(args.timeout)],
                             stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    rclpy.init()
    node = rclpy.create_node("delivery_check_publisher")
    pub = node.create_publisher(Image, TOPIC, _qos(args.publisher, 5))
    deadline = time.monotonic() + args.timeout
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    if pub.get_subscription_count() == 0:
        print("no subscriber matched (incompatible QoS? best_effort publisher -> reliable "
              "subscriber never matches)", file=sys.stderr)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
    start = time.monotonic()
    for i in range(args.frames):
        msg = array_to_image(image)
        msg.header.stamp.sec = i
        pub.publish(msg)
        while time.monotonic() < start + (i + 1) / args.rate:
            rclpy.spin_once(node, timeout_sec=0.01)
    done.touch()
    out, _ = child.communicate(timeout=args.timeout + 10)
    received = json.loads(out.strip().splitlines()[-1])["received"]
    result = {"size": args.size, "encoding": "bgr8", "bytes_per_frame": width * height * 3,
              "rate_hz": args.rate, "frames_sent": args.frames, "frames_received": received,
              "publisher": args.publisher, "subscriber": args.subscriber,
              "rmw": os.environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp (default)"),
              "fastdds_profile": os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE", "")}
    print(json.dumps(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    node.destroy_node()
    rclpy.try_shutdown()
    done.unlink(missing_ok=True)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="640x480", help="WIDTHxHEIGHT of the bgr8 frames")
    parser.add_argument("--rate", type=float, default=7.0)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--publisher", choices=("reliable", "best_effort"), default="reliable")
    parser.add_argument("--subscriber", choices=("reliable", "best_effort"),
                        default="best_effort")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--listen", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--done-file", default=f"/tmp/fer_ros_delivery_{os.getpid()}.done",
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return listen(args) if args.listen else publish(args)


if __name__ == "__main__":
    sys.exit(main())
