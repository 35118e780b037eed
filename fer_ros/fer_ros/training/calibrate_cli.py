"""Fit a bundle's temperature on the validation split and measure calibration.

    fer-ros calibrate --model fer_ros/models/ferplus --dataset ferplus \\
        --data $FER_ROS_SHARED/datasets/fer2013/fer2013.csv.gz \\
        --labels $FER_ROS_SHARED/datasets/ferplus/fer2013new.csv --json calibration.json --write

The temperature T is fitted on --fit-split (default PublicTest, the validation split) by
minimising the negative log-likelihood; argmax, so accuracy, does not change. The expected
calibration error (ECE, 15 bins) is reported before and after on --report-split (default
PrivateTest, final reporting only). --write stores T as ``output.temperature`` and the figures
as ``calibration`` in the bundle's model.json; the runtime then reports calibrated confidences.
Exit codes (docs/cli.md): 0 ok, 1 failure (the model cannot be loaded), 2 usage (a wrong
path or option, a malformed dataset).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from fer_ros.core.cli_args import add_json_argument, add_model_argument

HELP = "fit temperature scaling on the validation split; ECE before/after"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser, "model bundle directory to calibrate; default: the installed "
                       "default bundle")
    parser.add_argument("--dataset", required=True, choices=("fer2013", "ferplus"),
                        help="dataset whose labels the bundle was trained on")
    parser.add_argument("--data", required=True, help="fer2013.csv(.gz): the pixels")
    parser.add_argument("--labels", help="FER+ votes csv (fer2013new.csv); ferplus only")
    parser.add_argument("--fit-split", default="PublicTest",
                        help="split the temperature is fitted on (default PublicTest)")
    parser.add_argument("--report-split", default="PrivateTest",
                        help="split the ECE is reported on (default PrivateTest)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    add_json_argument(parser, "the figures (temperature, ECE and NLL before and after)")
    parser.add_argument("--write", action="store_true",
                        help="store the temperature and figures in the bundle's model.json")


def true_model_indices(model_labels, faces):
    """Each face's true class as an index into the model's classes (through the synonyms)."""
    import numpy as np

    from fer_ros.training.evaluate import match_labels
    model_to_data, unmapped_data, _ = match_labels(model_labels, faces.labels)
    if unmapped_data:
        raise ValueError(f"dataset classes {unmapped_data} are not in the model "
                         f"{list(model_labels)}; calibrate on the dataset it was trained on")
    data_to_model = {d: m for m, d in enumerate(model_to_data) if d >= 0}
    return np.array([data_to_model[t] for t in faces.hard_targets()], np.int64)


def probabilities_and_truth(predictor, faces):
    """(N, K) raw probabilities in the model's class order and each face's true model index."""
    from fer_ros.training.evaluate import predict_faces
    return predict_faces(predictor, faces), true_model_indices(predictor.labels, faces)


def measure(args: argparse.Namespace) -> dict:
    from fer_ros.core.calibration import apply_temperature, expected_calibration_error
    from fer_ros.training.calibrate import fit_temperature, negative_log_likelihood
    from fer_ros.training.datasets import load_faces
    from fer_ros.training.evaluate import load_predictor
    predictor = load_predictor(args.model, args.threads)  # run() resolved the default
    figures = {"method": "temperature scaling (Guo et al. 2017), NLL fit",
               "fit": {"dataset": args.dataset, "split": args.fit_split}}
    probs, truth = probabilities_and_truth(
        predictor, load_faces(args.dataset, args.data, args.fit_split, labels=args.labels))
    temperature = fit_temperature(probs, truth)
    figures["temperature"] = round(temperature, 4)
    probs, truth = probabilities_and_truth(
        predictor, load_faces(args.dataset, args.data, args.report_split, labels=args.labels))
    after = apply_temperature(probs, temperature)
    figures["report"] = {
        "dataset": args.dataset, "split": args.report_split, "faces": int(len(truth)),
        "ece_before": round(expected_calibration_error(probs, truth), 4),
        "ece_after": round(expected_calibration_error(after, truth), 4),
        "nll_before": round(negative_log_likelihood(probs, truth, 1.0), 4),
        "nll_after": round(negative_log_likelihood(probs, truth, temperature), 4)}
    return figures


def write_into_bundle(bundle_dir: Path, output: dict, section: str, figures: dict) -> None:
    """``output`` fields (what the runtime reads) and the ``section`` of figures that
    explain them into the bundle's model.json; every other field stays."""
    path = bundle_dir / "model.json"
    meta = json.loads(path.read_text())
    meta.setdefault("output", {}).update(output)
    meta[section] = figures
    path.write_text(json.dumps(meta, indent=2) + "\n")


def run(args: argparse.Namespace) -> int:
    from fer_ros.core.bundle import default_bundle_path
    from fer_ros.core.cli_args import write_json
    args.model = args.model or str(default_bundle_path())
    figures = measure(args)  # errors reach fer_ros.cli.main as one stderr line
    print(json.dumps(figures, indent=2))
    write_json(args.json, figures)
    if args.write:
        write_into_bundle(Path(args.model), {"temperature": figures["temperature"]},
                          "calibration", figures)
        print(f"wrote output.temperature = {figures['temperature']} into {args.model}/model.json")
    return 0
