#!/usr/bin/env python3
"""Post-hoc logit adjustment (Menon et al. 2021) for a bundle's rare classes, measured.

    python scripts/logit_adjustment.py ferplus --json results/accuracy/ferplus/logit_adjustment.json

Subtracts ``tau * log(prior)`` from the bundle's log-probabilities, where ``prior`` is each
class's share of the Training split's labels: rare classes (disgust, fear, contempt) gain, the
common ones (neutral, happy) pay. ``tau`` is swept and chosen on PublicTest only (the largest
balanced accuracy, i.e. mean per-class recall, that costs at most --max-accuracy-drop points of
accuracy); PrivateTest is reported for every tau, once, for the record. No retraining: the
ranking of the network's outputs changes, not the network.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "fer_ros"))

TAUS = [round(t, 2) for t in np.arange(0.0, 1.01, 0.1)]


def split_scores(log_p: np.ndarray, truth: np.ndarray, log_prior: np.ndarray, labels,
                 tau: float) -> dict:
    pred = np.argmax(log_p - tau * log_prior, axis=1)
    recall = {name: float(np.mean(pred[truth == k] == k)) if np.any(truth == k) else None
              for k, name in enumerate(labels)}
    present = [r for r in recall.values() if r is not None]
    return {"accuracy": float(np.mean(pred == truth)), "balanced_accuracy": float(np.mean(present)),
            "recall": recall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", choices=("ferplus", "fer2013"), help="shipped bundle name")
    parser.add_argument("--max-accuracy-drop", type=float, default=1.0,
                        help="PublicTest accuracy points a tau may cost (default 1.0)")
    parser.add_argument("--json", type=Path, help="write the sweep here")
    parser.add_argument("--write", action="store_true",
                        help="store the prior as output.class_prior (and the chosen tau as "
                        "logit_adjustment) in the bundle's model.json, so that the runtime's "
                        "classifier.logit_adjustment can use it")
    args = parser.parse_args()
    from fer_ros.core.paths import shared_dir
    from fer_ros.core.cli_args import write_json
    from fer_ros.training.calibrate_cli import (probabilities_and_truth, true_model_indices,
                                                write_into_bundle)
    from fer_ros.training.datasets import load_faces
    from fer_ros.training.evaluate import load_predictor
    shared = shared_dir()
    data = str(shared / "datasets/fer2013/fer2013.csv.gz")
    votes = str(shared / "datasets/ferplus/fer2013new.csv") if args.bundle == "ferplus" else None
    bundle_dir = REPO / "fer_ros/models" / args.bundle
    predictor = load_predictor(bundle_dir)

    def faces(split):
        return load_faces(args.bundle, data, split, labels=votes)

    train_truth = true_model_indices(predictor.labels, faces("Training"))
    counts = np.bincount(train_truth, minlength=len(predictor.labels)).astype(np.float64)
    log_prior = np.log(np.maximum(counts, 1.0) / counts.sum())
    result = {"bundle": args.bundle, "method": "argmax(log p - tau * log prior), Menon et al. "
              "2021; prior = Training label shares", "prior": dict(zip(
                  predictor.labels, (counts / counts.sum()).round(4).tolist())), "sweep": {}}
    for split in ("PublicTest", "PrivateTest"):
        probs, truth = probabilities_and_truth(predictor, faces(split))
        log_p = np.log(np.clip(probs, 1e-12, 1.0))
        result["sweep"][split] = {str(t): split_scores(log_p, truth, log_prior, predictor.labels, t)
                                  for t in TAUS}
    public = result["sweep"]["PublicTest"]
    floor = public["0.0"]["accuracy"] - args.max_accuracy_drop / 100
    chosen = max((t for t in TAUS if public[str(t)]["accuracy"] >= floor),
                 key=lambda t: public[str(t)]["balanced_accuracy"])
    result["chosen_tau_on_publictest"] = chosen
    result["max_accuracy_drop_points"] = args.max_accuracy_drop
    print(json.dumps({k: v for k, v in result.items() if k != "sweep"}, indent=2))
    for split, rows in result["sweep"].items():
        for tau, row in rows.items():
            recall = " ".join(f"{n[:4]} {r:.2f}" for n, r in row["recall"].items() if r is not None)
            print(f"{split:11s} tau {tau:4s} acc {row['accuracy']:.4f} "
                  f"bal {row['balanced_accuracy']:.4f} | {recall}")
    write_json(args.json, result)
    if args.write:
        chosen = str(result["chosen_tau_on_publictest"])
        write_into_bundle(bundle_dir, {"class_prior": [round(p, 6) for p in
                                                       (counts / counts.sum()).tolist()]},
                          "logit_adjustment", {
                              "method": result["method"],
                              "chosen_tau_on_publictest": result["chosen_tau_on_publictest"],
                              "max_accuracy_drop_points": result["max_accuracy_drop_points"],
                              "privatetest": {t: result["sweep"]["PrivateTest"][t]
                                              for t in ("0.0", chosen)}})
        print(f"wrote output.class_prior into {bundle_dir / 'model.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
