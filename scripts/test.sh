#!/usr/bin/env bash
# Run the whole test suite (fer_ros/test) with pytest in the environment built by setup.sh.
# Exits non-zero when any test fails, errors, or when no test was collected.
# Extra arguments go to pytest, e.g. scripts/test.sh -k msgs -x
# Shared data: FER_ROS_SHARED, else <repo>/../shared (see fer_ros/test/conftest.py).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

# FER_ROS_TEST_PATHS: run other test paths the same way (test_suite_exit_code.py uses it).
read -r -a test_paths <<< "${FER_ROS_TEST_PATHS:-fer_ros/test}"
exec python -m pytest "${test_paths[@]}" "$@"
