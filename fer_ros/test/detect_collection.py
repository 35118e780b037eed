"""Write a labelled photo collection composed from real FER2013 PublicTest faces.

For measuring and demonstrating ``fer-ros detect`` (docs/detect.md); the photos stay
outside the repository (the datasets may not be redistributed in it):

    python fer_ros/test/detect_collection.py /tmp/photos --count 1000
    fer-ros detect /tmp/photos --labels /tmp/photos/labels.csv

Each photo is a ``--size`` textured canvas holding ``--faces`` faces scaled to
``--face-px``; labels.csv (file,label) names the label of the largest face,
spelled as in FER+ ("happiness", "sadness", ...) to exercise the synonym table.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2

import faces

FERPLUS_SPELLING = {"angry": "anger", "disgust": "disgust", "fear": "fear",
                    "happy": "happiness", "sad": "sadness", "surprise": "surprise",
                    "neutral": "neutral"}


def write_collection(folder: Path, count: int, per_photo: int = 1, size=(640, 480),
                     face_px=(110, 200), first: int = 0, ext: str = "jpg") -> Path:
    """``count`` photos (JPEG or PNG) + labels.csv in ``folder``; returns the CSV path."""
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = faces.fer2013_faces("PublicTest", limit=first + count * per_photo)
    rows = ["file,label"]
    for i in range(count):
        picked = range(first + i * per_photo, first + (i + 1) * per_photo)
        scene = faces.compose_frame([images[j] for j in picked], [int(labels[j]) for j in picked],
                                    frame_size=size, face_px=face_px, seed=i)
        name = f"photo_{i:04d}.{ext}"
        cv2.imwrite(str(folder / name), scene.image)
        largest = max(range(per_photo), key=lambda k: scene.boxes[k].area)
        rows.append(f"{name},{FERPLUS_SPELLING[faces.FER2013_LABELS[scene.labels[largest]]]}")
    csv_path = folder / "labels.csv"
    csv_path.write_text("\n".join(rows) + "\n")
    return csv_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--faces", type=int, default=1, help="faces per photo")
    parser.add_argument("--size", default="640x480", help="photo WIDTHxHEIGHT")
    parser.add_argument("--face-px", default="110,200", help="face side range LOW,HIGH")
    parser.add_argument("--first", type=int, default=0, help="first PublicTest row to use")
    parser.add_argument("--format", choices=("jpg", "png"), default="jpg")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    low, high = (int(v) for v in args.face_px.split(","))
    print(write_collection(args.folder, args.count, args.faces, (width, height), (low, high),
                           args.first, args.format))


if __name__ == "__main__":
    main()
