#!/usr/bin/env bash
# Every accuracy/calibration figure of docs/results.md for one shipped bundle.
#   scripts/evaluate_bundle.sh ferplus     # fer_ros/models/ferplus -> results/accuracy/ferplus/
#   scripts/evaluate_bundle.sh fer2013     # fer_ros/models/fer2013 -> results/accuracy/fer2013/
# Run after `make setup` from the repository root. Writes <split>.json (the `fer-ros evaluate`
# contract) plus report.txt and confusion PNGs per row, calibration.json and logit_adjustment.json
# (both also written into model.json). PrivateTest and
# the FER+ test rows are used here only, for final reporting: models were selected on PublicTest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
NAME=${1:?usage: scripts/evaluate_bundle.sh ferplus|fer2013}
SHARED=${FER_ROS_SHARED:-$REPO/../shared}
FER=$SHARED/datasets/fer2013/fer2013.csv.gz
VOTES=$SHARED/datasets/ferplus/fer2013new.csv
CKPLUS=$SHARED/datasets/ckplus48/CK+48
BUNDLE=fer_ros/models/$NAME
OUT=results/accuracy/$NAME
mkdir -p "$OUT"

evaluate() {  # row name, then fer-ros evaluate arguments
  local row=$1; shift
  fer-ros evaluate --model "$BUNDLE" "$@" --json "$OUT/$row.json" --out "$OUT/$row"
}

ferplus() { evaluate "$@" --dataset ferplus --data "$FER" --labels "$VOTES"; }
fer2013() { evaluate "$@" --dataset fer2013 --data "$FER"; }

ferplus ferplus_publictest --split PublicTest
ferplus ferplus_privatetest --split PrivateTest
ferplus ferplus_privatetest_flip --split PrivateTest --tta flip
fer2013 fer2013_publictest --split PublicTest
fer2013 fer2013_privatetest --split PrivateTest
fer2013 fer2013_privatetest_flip --split PrivateTest --tta flip
evaluate ckplus_all --dataset ckplus --data "$CKPLUS"
# Temperature fitted on the bundle's own validation split, ECE reported on its test split.
labels=(); [[ $NAME == ferplus ]] && labels=(--labels "$VOTES")
fer-ros calibrate --model "$BUNDLE" --dataset "$NAME" --data "$FER" "${labels[@]}" \
  --json "$OUT/calibration.json" --write
# Logit adjustment sweep (tau chosen on PublicTest) and the Training class prior into model.json.
python scripts/logit_adjustment.py "$NAME" --json "$OUT/logit_adjustment.json" --write
