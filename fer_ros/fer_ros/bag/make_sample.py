"""Build the sample recording: a rosbag2 (mcap) of camera-like frames made of real faces.

    python -m fer_ros.bag.make_sample --out fer_ros/data/sample/fer_sample

Frames are 640x480 at 15 fps for 20 s: a static "room" background with sensor noise
and up to four FER2013 *PublicTest* faces (48 px crops scaled to 90-150 px), one per
quarter of the frame, each drifting and growing or shrinking for 4-9 frames, then gone
for 6-11 frames before another person appears there; the first half second and one second
in the middle show no face at all. Everything is drawn from one seed, so the same command gives the same bag.

Written next to the bag: ``<out>.truth.json``, the ground-truth sidecar
(:mod:`fer_ros.bag.truth`): for each frame stamp, the pasted face squares and labels.

FER2013 may not be redistributed in this repository (../shared/README.md), so the bag is
*generated* from ../shared on demand (``ensure_sample``) into a git-ignored folder,
never committed. PublicTest only: PrivateTest stays unseen for final reporting.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_ros.bag import truth as truth_io
from fer_ros.bag.images import compressed_image_msg, raw_image_msg
from fer_ros.bag.typestore import COMPRESSED, IMAGE, typestore
from fer_ros.core.fer2013 import FER2013_LABELS, FER2013_RELATIVE, sample_faces
from fer_ros.core.paths import shared_dir

REPO = Path(__file__).resolve().parents[3]
FER2013_CSV = shared_dir() / FER2013_RELATIVE
DEFAULT_OUT = REPO / "fer_ros" / "data" / "sample" / "fer_sample"
FRAME_ID = "camera_optical_frame"
COMPRESSED_TOPIC = "/camera/image_raw/compressed"
RAW_TOPIC = "/camera/image_raw"
START_NS = 1_763_000_000 * 1_000_000_000  # a fixed epoch keeps the bag byte-identical


@dataclass(frozen=True)
class SampleSpec:
    """What the sample looks like; the defaults make the bundled sample."""

    seconds: float = 20.0
    fps: float = 15.0
    width: int = 640
    height: int = 480
    lanes: int = 4
    min_face: int = 90
    max_face: int = 150
    seed: int = 2013
    jpeg_quality: int = 85
    compressed: bool = True  # jpeg CompressedImage topic (a few MB)
    raw: bool = False        # bgr8 Image topic (0.9 MB a frame: use for short bags)

    @property
    def frames(self) -> int:
        return int(round(self.seconds * self.fps))


@dataclass
class Appearance:
    """One face on screen from frame ``start`` to ``end`` (exclusive), moving linearly."""

    start: int
    end: int
    face: int                      # index into the face list
    p0: tuple[float, float, float]  # x, y, side at start
    p1: tuple[float, float, float]  # x, y, side at end

    def at(self, frame: int) -> tuple[int, int, int]:
        t = (frame - self.start) / max(self.end - self.start - 1, 1)
        x, y, s = (a + (b - a) * t for a, b in zip(self.p0, self.p1))
        return int(round(x)), int(round(y)), int(round(s))


def load_public_test(csv_path: Path) -> tuple[list[np.ndarray], list[int]]:
    """All FER2013 PublicTest faces (48x48 uint8) and label indices, in file order."""
    images, labels = sample_faces(csv_path, "PublicTest")
    return images, labels.tolist()


def _random_place(rng, spec: SampleSpec, lane: int) -> tuple[float, float, float]:
    lane_w = spec.width / spec.lanes
    side = float(rng.uniform(spec.min_face, spec.max_face))
    x = lane * lane_w + float(rng.uniform(0, max(lane_w - side, 0)))
    y = float(rng.uniform(0, spec.height - side))
    return x, y, side


def blank_frames(spec: SampleSpec) -> set[int]:
    """Frames that show no face: the opening half second (at most a tenth of a short bag)
    and, in bags of 5 s or more, one second in the middle."""
    blank = set(range(0, min(int(spec.fps * 0.5), spec.frames // 10)))
    if spec.seconds >= 5:
        middle = int(spec.frames * 0.45)
        blank |= set(range(middle, middle + int(spec.fps)))
    return blank


def plan_appearances(spec: SampleSpec, rng) -> list[Appearance]:
    """Each lane shows one face after another (4-9 frames each, drifting), with a gap of
    6-11 frames between them: a new person each time, so the tracker (which forgets a face
    after 5 missed frames by default) starts a new track instead of blending two faces."""
    appearances, next_face = [], 0
    for lane in range(spec.lanes):
        frame = int(rng.integers(0, 6))
        while frame < spec.frames:
            end = min(frame + int(rng.integers(4, 10)), spec.frames)
            start_at, target = _random_place(rng, spec, lane), _random_place(rng, spec, lane)
            # drift a third of the way towards another random spot
            drift_to = tuple(a + (b - a) / 3 for a, b in zip(start_at, target))
            appearances.append(Appearance(frame, end, next_face, start_at, drift_to))
            next_face += 1
            frame = end + int(rng.integers(6, 12))
    return appearances


def background(spec: SampleSpec, rng) -> np.ndarray:
    """A static room: wall gradient, floor, a door and a picture frame."""
    h, w = spec.height, spec.width
    wall = np.linspace(150, 110, h, dtype=np.float32)[:, None, None]
    image = np.broadcast_to(wall * np.array([0.95, 1.0, 1.05], np.float32), (h, w, 3)).copy()
    image[int(h * 0.8):] = (70, 90, 110)  # floor
    for _ in range(4):
        x0, y0 = int(rng.integers(0, w - 80)), int(rng.integers(0, int(h * 0.7)))
        color = tuple(int(c) for c in rng.integers(40, 200, 3))
        cv2.rectangle(image, (x0, y0), (x0 + int(rng.integers(40, 160)),
                                        y0 + int(rng.integers(40, 200))), color, -1)
    return np.clip(image, 0, 255).astype(np.uint8)


def render(spec: SampleSpec, base: np.ndarray, faces: list[np.ndarray],
           visible: list[Appearance], frame: int, rng) -> tuple[np.ndarray, list[dict]]:
    """One frame and its truth (box of every pasted face) ."""
    image = base.astype(np.int16) + rng.normal(0, 2, base.shape).astype(np.int16)
    boxes = []
    for a in visible:
        x, y, s = a.at(frame)
        face = cv2.resize(faces[a.face], (s, s), interpolation=cv2.INTER_LINEAR)
        image[y:y + s, x:x + s] = face[:, :, None]
        boxes.append((a, (x, y, s, s)))
    return np.clip(image, 0, 255).astype(np.uint8), boxes


def build_sample(out: Path, csv_path: Path = FER2013_CSV, spec: SampleSpec = SampleSpec(),
                 quiet: bool = False) -> tuple[Path, Path]:
    """Write the bag directory ``out`` and ``<out>.truth.json``; returns both paths."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    out = Path(out)
    truth_path = truth_io.sidecar_path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists; delete it first or pass another --out")
    images, labels = load_public_test(csv_path)
    rng = np.random.default_rng(spec.seed)
    order = rng.permutation(len(images))
    plan = plan_appearances(spec, rng)
    faces = [images[i] for i in order[:len(plan) + 1]]
    base = background(spec, rng)
    blank = blank_frames(spec)
    store = typestore()
    out.parent.mkdir(parents=True, exist_ok=True)
    frames_truth = []
    with Writer(out, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        conns = []
        if spec.compressed:
            conns.append((writer.add_connection(COMPRESSED_TOPIC, COMPRESSED, typestore=store),
                          COMPRESSED))
        if spec.raw:
            conns.append((writer.add_connection(RAW_TOPIC, IMAGE, typestore=store), IMAGE))
        for frame in range(spec.frames):
            stamp = START_NS + int(round(frame * 1e9 / spec.fps))
            visible = [] if frame in blank else [a for a in plan if a.start <= frame < a.end]
            image, boxes = render(spec, base, faces, visible, frame, rng)
            for conn, msgtype in conns:
                msg = (compressed_image_msg(image, stamp, FRAME_ID, spec.jpeg_quality)
                       if msgtype == COMPRESSED else raw_image_msg(image, stamp, FRAME_ID))
                writer.write(conn, stamp, store.serialize_cdr(msg, msgtype))
            frames_truth.append(truth_io.TruthFrame(stamp, [
                truth_io.TruthFace(box, FER2013_LABELS[labels[order[a.face]]],
                                   source=f"fer2013:PublicTest:{int(order[a.face])}")
                for a, box in boxes]))
    truth_io.write_truth(truth_path, frames_truth, FER2013_LABELS,
                         source=f"fer_ros.bag.make_sample seed={spec.seed}: FER2013 PublicTest")
    if not quiet:
        n_faces = sum(len(f.faces) for f in frames_truth)
        print(f"wrote {out} ({spec.frames} frames, {n_faces} faces, "
              f"{_size_mb(out):.1f} MB) and {truth_path}")
    return out, truth_path


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def ensure_sample(out: Path = DEFAULT_OUT, csv_path: Path = FER2013_CSV) -> tuple[Path, Path]:
    """The sample bag and truth, generated first if missing (needs ../shared)."""
    out = Path(out)
    truth_path = truth_io.sidecar_path(out)
    if (out / "metadata.yaml").is_file() and truth_path.is_file():
        return out, truth_path
    if not Path(csv_path).is_file():
        raise FileNotFoundError(f"the sample bag {out} is missing and cannot be generated: "
                                f"{csv_path} not found (set FER_ROS_SHARED to the folder holding datasets/fer2013)")
    if out.exists():  # a half-written bag from an interrupted run
        import shutil
        shutil.rmtree(out)
    return build_sample(out, csv_path, quiet=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="bag directory to create")
    parser.add_argument("--csv", type=Path, default=FER2013_CSV, help="fer2013.csv(.gz)")
    parser.add_argument("--seconds", type=float, default=SampleSpec.seconds)
    parser.add_argument("--fps", type=float, default=SampleSpec.fps)
    parser.add_argument("--seed", type=int, default=SampleSpec.seed)
    parser.add_argument("--raw", action="store_true", help="also write a bgr8 Image topic")
    parser.add_argument("--no-compressed", action="store_true",
                        help="leave out the jpeg CompressedImage topic")
    parser.add_argument("--force", action="store_true", help="replace an existing bag")
    args = parser.parse_args(argv)
    if not args.raw and args.no_compressed:
        parser.error("nothing to write: --no-compressed needs --raw")
    if args.force and args.out.exists():
        import shutil
        shutil.rmtree(args.out)
    spec = SampleSpec(seconds=args.seconds, fps=args.fps, seed=args.seed, raw=args.raw,
                      compressed=not args.no_compressed)
    build_sample(args.out, args.csv, spec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
