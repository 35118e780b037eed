"""Score a trained model on a dataset split and write the metrics JSON (+ report files).

    fer-ros evaluate --model runs/fer2013_resnet18/best.pt --dataset fer2013 \\
        --data ../shared/datasets/fer2013/fer2013.csv.gz --split PublicTest --json val.json
    fer-ros evaluate --model fer_ros/models/ferplus --dataset ferplus \\
        --data ../shared/datasets/fer2013/fer2013.csv.gz \\
        --labels ../shared/datasets/ferplus/fer2013new.csv --split PrivateTest \\
        --json ferplus_test.json --out reports/ferplus_test
    fer-ros evaluate --model best.pt --dataset ckplus --data ../shared/datasets/ckplus48 \\
        --json ckplus.json                          # no --split: the whole set

--model: a checkpoint (.pt, run with PyTorch) or a bundle directory (run with ONNX
Runtime, as on the robot). Splits: fer2013/ferplus Training, PublicTest (default),
PrivateTest (final reporting only); ckplus/folder train, val (the held-out fold of
--fold K --folds N) or all (default). FER+ is scored on majority-vote labels.
The JSON holds accuracy, macro_f1, per_class, confusion, labels, n, model, dataset,
split; --out DIR adds report.txt and confusion-matrix PNGs.
"""
from __future__ import annotations

import argparse

from fer_ros.core.cli_args import add_json_argument, add_model_argument, bundle_or_checkpoint

HELP = "score a checkpoint or bundle on FER2013 / FER+ / CK+ / an image folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser, "checkpoint .pt (`fer-ros train`) or model bundle directory; "
                       "default: the installed default bundle", type=bundle_or_checkpoint)
    parser.add_argument("--dataset", required=True,
                        choices=("fer2013", "ferplus", "ckplus", "folder"))
    parser.add_argument("--data", required=True,
                        help="fer2013.csv(.gz) (fer2013, ferplus) or image folder root")
    parser.add_argument("--labels", help="FER+ votes csv (fer2013new.csv); ferplus only")
    parser.add_argument("--split", help="split name (default: PublicTest for csv datasets, "
                        "all images for ckplus/folder)")
    parser.add_argument("--fold", type=int, default=0, help="held-out fold (ckplus/folder)")
    parser.add_argument("--folds", type=int, default=10, help="number of folds (default 10)")
    parser.add_argument("--tta", choices=("none", "flip", "tencrop"), default="none",
                        help="test-time augmentation: average over the mirror (flip) or over "
                        "4 corner + centre crops and their mirrors (tencrop); default none: "
                        "what the robot runs")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    add_json_argument(parser, "the metrics (accuracy, macro_f1, per_class, confusion, ...)")
    parser.add_argument("--out", help="directory for report.txt and confusion-matrix PNGs")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fer_ros.core.bundle import default_bundle_path
    from fer_ros.core.cli_args import write_json
    from fer_ros.core.metrics import format_report
    from fer_ros.training.datasets import load_faces
    from fer_ros.training.evaluate import DEFAULT_SPLIT, load_predictor, score
    from fer_ros.training.report import write_report

    split = args.split or DEFAULT_SPLIT[args.dataset]
    model = args.model or default_bundle_path()
    # errors reach fer_ros.cli.main: one stderr line, exit 2 for bad data, 1 for a bad model
    predictor = load_predictor(model, args.threads)
    faces = load_faces(args.dataset, args.data, split, labels=args.labels,
                       folds=args.folds, fold=args.fold)
    report = score(predictor, faces, args.tta)
    report.update(model=str(model), dataset=args.dataset, data=str(args.data),
                  split=split or "all")
    if args.dataset in ("ckplus", "folder") and split not in (None, "all"):
        report.update(fold=args.fold, folds=args.folds)
    title = f"{args.dataset} {report['split']}: {Path(model).name}"
    write_json(args.json, report)
    if args.out:
        write_report(args.out, report, title)
    print(format_report(report, title))
    if report["unmapped_dataset_labels"] or report["unmapped_model_labels"]:
        print(f"not in the model: {report['unmapped_dataset_labels']} (left out); "
              f"not in the dataset: {report['unmapped_model_labels']} (count as errors)")
    if args.json:
        print(f"wrote {args.json}")
    return 0
