#!/usr/bin/env python3
"""Is one FER2013 network measurably better than another on PrivateTest? McNemar's test.

    git show 008df42:fer_ros/models/fer2013/model.onnx > /tmp/fer2013_1.0.0.onnx
    python scripts/mcnemar_privatetest.py /tmp/fer2013_1.0.0.onnx fer_ros/models/fer2013 \\
        --json results/accuracy/fer2013/mcnemar_1.0.0_vs_1.1.0.json

Both networks classify the same 3,589 PrivateTest faces with the new bundle's preprocessing
(same input spec); the test counts the faces only one of them gets right (paired, so much more
sensitive than comparing two accuracies) and reports the continuity-corrected chi-square and
its p-value.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fer_ros"))


def predictions(network: Path, x: np.ndarray) -> np.ndarray:
    from fer_ros.core.ort_session import ort_session
    session = ort_session(network, 2)
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: x[i:i + 256]})[0]
                           for i in range(0, len(x), 256)]).argmax(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="the old network (.onnx)")
    parser.add_argument("new", type=Path, help="the new bundle directory")
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args()
    from fer_ros.core.bundle import load_bundle
    from fer_ros.core.cli_args import write_json
    from fer_ros.core.fer2013 import FER2013_RELATIVE
    from fer_ros.core.paths import shared_dir
    from fer_ros.training.data import to_tensor_batch
    from fer_ros.training.datasets import load_faces
    bundle = load_bundle(args.new).with_precision("fp32")
    faces = load_faces("fer2013", str(shared_dir() / FER2013_RELATIVE), "PrivateTest")
    x, truth = to_tensor_batch(faces, bundle.input_spec), faces.hard_targets()
    old_right = predictions(args.old, x) == truth
    new_right = predictions(bundle.network_path, x) == truth
    only_new, only_old = int((new_right & ~old_right).sum()), int((old_right & ~new_right).sum())
    chi2 = (abs(only_new - only_old) - 1) ** 2 / max(1, only_new + only_old)
    result = {"faces": int(len(truth)), "old": str(args.old),
              "new": f"{bundle.name} {bundle.version}",
              "old_accuracy": round(float(old_right.mean()), 4),
              "new_accuracy": round(float(new_right.mean()), 4),
              "only_new_right": only_new, "only_old_right": only_old,
              "mcnemar_chi2": round(chi2, 3), "p_value": float(math.erfc(math.sqrt(chi2 / 2)))}
    print(json.dumps(result, indent=2))
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
