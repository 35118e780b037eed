#!/usr/bin/env python3
"""CK+ subject-independent k-fold: transfer from one of our models vs training from scratch.

    python scripts/ckplus_kfold.py --pretrained runs/ferplus_stage2/best.pt --variants transfer --transfer-epochs 12 \\
        --out runs/ckplus_kfold_ferplus --json results/ckplus_kfold_transfer_ferplus_12ep.json

For every fold k, two models are trained on the other folds with a fixed number of
epochs (no model selection: the held-out fold is a test set here) and the last
epoch is scored on fold k. Predictions of all folds are pooled into one confusion
matrix; the JSON also holds the per-fold accuracies, their mean and std.
Interrupted? Run the same command again: finished folds are reused, the
interrupted one resumes from its last epoch.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from fer_ros.core.metrics import confusion_matrix, format_report, report_from_confusion
from fer_ros.training.config import TrainConfig
from fer_ros.training.datasets import load_faces
from fer_ros.training.evaluate import load_predictor, predict_faces
from fer_ros.training.checkpoint import load_checkpoint
from fer_ros.training.train import resume, train

CKPLUS = "../shared/datasets/ckplus48/CK+48"


def variant_config(name: str, args, fold: int) -> TrainConfig:
    common = dict(dataset="ckplus", data=args.data, folds=args.folds, fold=fold,
                  input_size=64, channels=1, batch_size=32, seed=args.seed, threads=1,
                  out=str(Path(args.out) / name / f"fold{fold}"), tta_flip=False,
                  label_smoothing=0.1, rotate_deg=10.0)
    if name == "transfer":  # head-only warm-up, then the whole network at a low lr
        return TrainConfig(**common, pretrained=args.pretrained, epochs=args.transfer_epochs,
                           warmup_head_epochs=2, lr=0.01, schedule="cosine").validate()
    return TrainConfig(**common, epochs=args.scratch_epochs, lr=0.05,
                       schedule="onecycle").validate()


def train_or_resume(cfg: TrainConfig) -> None:
    """Folds are independent runs: a finished fold is reused, an interrupted one resumed."""
    last = Path(cfg.out) / "last.pt"
    if not last.is_file():
        train(cfg)
        return
    done = load_checkpoint(last)["epoch"] + 1
    if done < cfg.epochs:
        resume(cfg.out)


def run_fold(name: str, args, fold: int) -> tuple[np.ndarray, np.ndarray, tuple]:
    cfg = variant_config(name, args, fold)
    train_or_resume(cfg)
    test = load_faces("ckplus", args.data, "val", folds=args.folds, fold=fold)
    predictor = load_predictor(Path(cfg.out) / "last.pt", threads=1)
    probs = predict_faces(predictor, test)
    return test.hard_targets(), probs.argmax(1), test.labels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pretrained", required=True, help="our FER2013 checkpoint (.pt)")
    parser.add_argument("--data", default=CKPLUS)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--only-folds", type=int, nargs="*", help="subset of folds to run")
    parser.add_argument("--variants", nargs="*", default=["transfer", "scratch"])
    parser.add_argument("--transfer-epochs", type=int, default=12)
    parser.add_argument("--scratch-epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/ckplus_kfold")
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    folds = args.only_folds if args.only_folds else list(range(args.folds))
    results = {"pretrained": args.pretrained, "folds": args.folds, "variants": {}}
    for name in args.variants:
        start, per_fold, trues, preds, labels = time.perf_counter(), [], [], [], ()
        for fold in folds:
            true, pred, labels = run_fold(name, args, fold)
            per_fold.append(float((true == pred).mean()))
            trues.append(true)
            preds.append(pred)
            print(f"{name} fold {fold}: {per_fold[-1]:.4f}", flush=True)
        confusion = confusion_matrix(np.concatenate(trues), np.concatenate(preds), labels)
        report = report_from_confusion(confusion, labels)
        report.update(fold_accuracy=per_fold, fold_mean=float(np.mean(per_fold)),
                      fold_std=float(np.std(per_fold)), folds_run=folds,
                      train_seconds=time.perf_counter() - start,
                      config=variant_config(name, args, 0).to_dict())
        results["variants"][name] = report
        print(format_report(report, title=f"CK+ {name} ({len(folds)} folds pooled)"))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
