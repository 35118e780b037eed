"""The `make demo` client: plays a camera stream of real faces to fer_node and shows what an
HRI node receives.

    python -m fer_ros.demo --image-topic /demo/camera/image_raw --node /demo/fer_node

It publishes 640x480 bgr8 frames in which three people (FER2013 PublicTest faces from
``../shared``, labelled) drift slowly and change expression every two seconds, subscribes to
``emotions`` and ``~/annotated`` like an HRI node, prints one line per face received
(time, face id, emotion, confidence, the true label), and writes the annotated frames as
PNG files and a video into ``--out``.
"""
from __future__ import annotations

import argparse
import gzip
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
FER2013_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def shared_dir() -> Path:
    return Path(os.environ.get("FER_ROS_SHARED", REPO.parent / "shared"))


def read_faces(per_label: int = 3) -> list[tuple[np.ndarray, str]]:
    """``per_label`` PublicTest faces of each FER2013 label, labels interleaved."""
    csv = shared_dir() / "datasets" / "fer2013" / "fer2013.csv.gz"
    if not csv.is_file():
        raise SystemExit(f"[demo] error: {csv} not found; set FER_ROS_SHARED to the shared "
                         "data folder (it holds datasets/fer2013/fer2013.csv.gz)")
    by_label: dict[int, list[np.ndarray]] = {k: [] for k in range(len(FER2013_LABELS))}
    with gzip.open(csv, "rt") as handle:
        next(handle)
        for line in handle:
            if not line.rstrip().endswith(",PublicTest"):
                continue
            emotion, pixels, _ = line.split(",")
            bucket = by_label[int(emotion)]
            if len(bucket) < per_label:
                bucket.append(np.array(pixels.split(), np.uint8).reshape(48, 48))
            if all(len(b) >= per_label for b in by_label.values()):
                break
    return [(by_label[k][i], FER2013_LABELS[k])
            for i in range(per_label) for k in by_label if i < len(by_label[k])]


@dataclass
class Person:
    """One face slot: where it drifts and which faces it shows in turn."""

    anchor: tuple[int, int]
    faces: list[tuple[np.ndarray, str]]


class Stream:
    """Frames of three people drifting slowly and changing expression every ``hold`` frames."""

    SIZE = (640, 480)
    FACE_PX = 150

    def __init__(self, faces: list[tuple[np.ndarray, str]], hold: int = 20) -> None:
        anchors = [(40, 60), (245, 270), (450, 70)]
        self.people = [Person(a, faces[i::3]) for i, a in enumerate(anchors)]
        self.hold = hold
        ys, xs = np.mgrid[0:self.SIZE[1], 0:self.SIZE[0]].astype(np.float32)
        self.background = np.dstack([90 + 0.1 * xs, 110 + 0.05 * ys, 140 - 0.05 * xs]) \
            .clip(0, 255).astype(np.uint8)

    def frame(self, index: int) -> tuple[np.ndarray, list[tuple[tuple[int, int, int, int], str]]]:
        """(BGR frame, [(box x, y, w, h), true label] per person)."""
        image = self.background.copy()
        truth = []
        side = self.FACE_PX
        for p, person in enumerate(self.people):
            face, label = person.faces[(index // self.hold) % len(person.faces)]
            dx = int(20 * np.sin(index / 15.0 + p))
            dy = int(10 * np.cos(index / 20.0 + p))
            x, y = person.anchor[0] + dx, person.anchor[1] + dy
            image[y:y + side, x:x + side] = cv2.cvtColor(
                cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2BGR)
            truth.append(((x, y, side, side), label))
        return image, truth


def true_label_at(truth, roi) -> str:
    """The true label of the person whose box holds the centre of ``roi``."""
    cx, cy = roi.x_offset + roi.width / 2, roi.y_offset + roi.height / 2
    for (x, y, w, h), label in truth:
        if x <= cx <= x + w and y <= cy <= y + h:
            return label
    return "?"


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
    from fer_ros.ros.demo_client import DemoClient
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
