#!/usr/bin/env bash
# Every accuracy figure of docs/results.md ("Accuracy"), measured on the default bundle.
# Run after `make setup` from the repository root:  scripts/evaluate_default_model.sh
# Writes results/accuracy/<name>.json (the `fer-ros evaluate` contract) plus report.txt and
# confusion-matrix PNGs in results/accuracy/<name>/. PrivateTest and the FER+ test rows are
# used here only, for final reporting; the model was selected on PublicTest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
SHARED=${FER_ROS_SHARED:-$REPO/../shared}
FER=$SHARED/datasets/fer2013/fer2013.csv.gz
BUNDLE=${1:-fer_ros/models/default}
OUT=results/accuracy
mkdir -p "$OUT"

evaluate() {  # name, then fer-ros evaluate arguments
  local name=$1; shift
  fer-ros evaluate --model "$BUNDLE" "$@" --json "$OUT/$name.json" --out "$OUT/$name"
}

evaluate fer2013_publictest --dataset fer2013 --data "$FER" --split PublicTest
evaluate fer2013_privatetest --dataset fer2013 --data "$FER" --split PrivateTest
evaluate fer2013_privatetest_flip --dataset fer2013 --data "$FER" --split PrivateTest --tta flip
evaluate ferplus_privatetest --dataset ferplus --data "$FER" \
  --labels "$SHARED/datasets/ferplus/fer2013new.csv" --split PrivateTest
# How the runtime frames detector boxes (crop_margin in model.json) was chosen: PublicTest.
python -m fer_ros.bench.crop_margin --bundle "$BUNDLE" --faces 600 --json results/crop_margin.json
