#!/usr/bin/env bash
# Run the whole test suite (fer_ros/test) with pytest in the environment built by setup.sh.
# Exits non-zero when any test fails, errors, or when no test was collected.
# Extra arguments go to pytest, e.g. scripts/test.sh -k msgs -x
# Shared data: FER_ROS_SHARED, else <repo>/../shared (see fer_ros/test/conftest.py).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
[[ -f install/setup.bash ]] || { echo "[test] install/setup.bash missing: run make setup" >&2; exit 1; }

source .venv/bin/activate
set +u  # colcon's setup scripts read unset variables
source install/setup.bash
set -u

# FER_ROS_TEST_PATHS: run other test paths the same way (test_suite_exit_code.py uses it).
read -r -a test_paths <<< "${FER_ROS_TEST_PATHS:-fer_ros/test}"
exec python -m pytest "${test_paths[@]}" "$@"
