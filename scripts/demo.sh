#!/usr/bin/env bash
# `make demo`: start fer_node with the default model, play a stream of real faces to it, and
# print what an HRI node receives; annotated frames go to out/demo/ (PNG files + demo.mp4).
# Needs `make setup` (the Makefile's demo target runs it first) and the shared data folder
# (../shared, or FER_ROS_SHARED) for the FER2013 faces of the stream.
# Extra arguments go to the stream client, e.g. scripts/demo.sh --frames 40 --rate 5
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# Keep the demo's traffic on this machine.
export ROS_AUTOMATIC_DISCOVERY_RANGE=${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}
export PYTHONUNBUFFERED=1
# Camera-sized images through Fast DDS shared memory instead of fragmented UDP (docs/node.md,
# "DDS settings for large images"): measured here, it cut the demo's send -> receive p50 from
# about 1-2 s to 0.4 s on a loaded 2-core machine. Both demo processes use it; set
# FASTDDS_DEFAULT_PROFILES_FILE= (empty) to run without it.
export FASTDDS_DEFAULT_PROFILES_FILE=${FASTDDS_DEFAULT_PROFILES_FILE-$REPO/install/fer_ros/share/fer_ros/config/fastdds_large_images.xml}
[[ -n $FASTDDS_DEFAULT_PROFILES_FILE ]] || unset FASTDDS_DEFAULT_PROFILES_FILE  # empty: Fast DDS would log an XML error

OUT="$REPO/out/demo"
mkdir -p "$OUT"
NODE_LOG="$OUT/fer_node.log"
PARAMS="$REPO/install/fer_ros/share/fer_ros/config/fer.yaml"

echo "[demo] starting fer_node (log: $NODE_LOG)"
install/fer_ros/lib/fer_ros/fer_node --ros-args --params-file "$PARAMS" \
  -r __ns:=/demo -r image:=/demo/camera/image_raw >"$NODE_LOG" 2>&1 &
NODE_PID=$!

stop_node() {
  if kill -0 "$NODE_PID" 2>/dev/null; then
    kill -TERM "$NODE_PID"  # (a background job of a script ignores SIGINT until rclpy handles it)
    wait "$NODE_PID" && echo "[demo] fer_node stopped cleanly (exit 0)" \
      || echo "[demo] fer_node exited with $?" >&2
  fi
}
trap stop_node EXIT

status=0
python -m fer_ros.tools.demo --image-topic /demo/camera/image_raw --node /demo/fer_node \
  --out "$OUT" "$@" || status=$?
if ! kill -0 "$NODE_PID" 2>/dev/null; then
  echo "[demo] fer_node is not running; its log:" >&2
  cat "$NODE_LOG" >&2
  status=1
fi
exit $status
