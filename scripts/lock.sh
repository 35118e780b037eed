#!/usr/bin/env bash
# Regenerate constraints.txt (the full version lock) from the current .venv.
# Use after changing a pin in requirements*.txt and running `make setup`.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
{
  echo "# Full lock of every package in .venv (generated from 'pip freeze --all' after installing"
  echo "# requirements.txt + requirements-train.txt on Python 3.11, Debian 12, x86_64)."
  echo "# Used as pip constraints so transitive dependencies cannot drift. Regenerate with:"
  echo "#   scripts/lock.sh"
  "$REPO/.venv/bin/pip" freeze --all | grep -v '^pip=='
} > "$REPO/constraints.txt"
echo "wrote $REPO/constraints.txt"
