"""The `make demo` client: plays a camera stream of real faces to fer_node and shows what an
HRI node receives.

    python -m fer_ros.tools.demo --image-topic /demo/camera/image_raw --node /demo/fer_node

It publishes 640x480 bgr8 frames in which three people (FER2013 PublicTest faces from
``../shared``, labelled) drift slowly and change expression every two seconds, subscribes to
``emotions`` and ``~/annotated`` like an HRI node, prints one line per face received
(time, face id, emotion, confidence, the true label), and writes the annotated frames as
PNG files and a video into ``--out``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fer_ros.tools.demo_scene import REPO, Stream, read_faces


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image-topic", default="/demo/camera/image_raw")
    parser.add_argument("--node", default="/demo/fer_node", help="fer_node's full name")
    parser.add_argument("--frames", type=int, default=80)
    parser.add_argument("--rate", type=float, default=8.0, help="camera frames per second")
    parser.add_argument("--out", type=Path, default=REPO / "out" / "demo")
    parser.add_argument("--timeout", type=float, default=90.0,
                        help="seconds to wait for fer_node to subscribe")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from fer_ros.tools.demo_client import DemoClient
    stream = Stream(read_faces())
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("annotated_*.png"):
        old.unlink()
    rclpy.init()
    client = DemoClient(args, stream)
    try:
        return client.run()
    except (KeyboardInterrupt, ExternalShutdownException):
        return 130
    finally:
        client.finish()
        client.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    sys.exit(main())
