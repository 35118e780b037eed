#!/usr/bin/env bash
# Build .venv-peer/: the `fer` PyPI package (Haar + mini-Xception on TensorFlow) that
# `fer-ros benchmark` compares against. Kept out of .venv so TensorFlow never meets the
# project's pinned numpy/torch; git-ignored; about 700 MB. Idempotent.
#   scripts/setup_peer_venv.sh            # then: fer-ros benchmark --json benchmarks/latest.json
# fer 25.10.3 declares facenet-pytorch (torch) and moviepy, needed only for its MTCNN and
# video features, not for the default Haar detector the benchmark uses: installed --no-deps
# with exactly the dependencies that path imports.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$REPO/.venv-peer"
PY=${PYTHON:-python3.11}
if [[ -x $VENV/bin/python ]] && "$VENV/bin/python" -c 'import fer.fer, tensorflow' 2>/dev/null; then
  echo "[peer] $VENV ready"; exit 0
fi
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --no-deps fer==25.10.3
"$VENV/bin/pip" install --quiet tensorflow-cpu==2.21.0 opencv-python-headless==4.14.0.94 \
  pandas==3.1.1 requests==2.34.2 pillow==13.0.0 tqdm==4.70.1 'setuptools<80'
"$VENV/bin/python" -c 'import fer.fer, tensorflow as tf; print("[peer] fer + tensorflow", tf.__version__)'
