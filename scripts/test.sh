#!/usr/bin/env bash
# Run the whole test suite (fer_ros/test) with pytest in the environment built by setup.sh.
# Exits non-zero when any test fails, errors, or when no test was collected.
# Extra arguments go to pytest, e.g. scripts/test.sh -k msgs -x, or paths:
#   scripts/test.sh fer_ros/test/test_msgs.py fer_ros/test/launch_tests/test_launch_default.py
# Shared data: FER_ROS_SHARED, else <repo>/../shared (see fer_ros/test/conftest.py).
#
# Two pytest processes: importing `launch` (the launch_testing/launch_pytest plugins do it at
# start-up) switches Python logging to launch's logger class, whose loggers do not propagate,
# so caplog tests break (../shared/ros/README.md, point 5). The launch tests (launch_tests/
# folders) therefore run in a second process with those plugins; everything else runs first
# without them. Options (-k, -x, ...) go to both; each path goes to the run it belongs to.
# Exit code: the first run's failure code (1 failed, 2 error, ...) if any, else the second's;
# 5 (no tests collected) only when neither run collected a test.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
set -u

NO_LAUNCH_PLUGINS=(-p no:launch_testing -p no:launch_ros -p no:launch_pytest)
LAUNCH_DIR=launch_tests

# FER_ROS_TEST_PATHS: run other test paths the same way (test_suite_exit_code.py uses it).
read -r -a default_paths <<< "${FER_ROS_TEST_PATHS:-fer_ros/test}"
options=() unit_paths=() launch_paths=()
for arg in "$@"; do
  if [[ -e ${arg%%::*} ]]; then
    case /$(realpath --relative-to=. "${arg%%::*}")/ in
      */$LAUNCH_DIR/*) launch_paths+=("$arg") ;;
      *) unit_paths+=("$arg") ;;
    esac
  else
    options+=("$arg")
  fi
done
if (( ${#unit_paths[@]} + ${#launch_paths[@]} == 0 )); then
  unit_paths=("${default_paths[@]}")
fi
# A folder that holds a launch_tests folder: its launch tests go to the second run.
ignores=()
for path in "${unit_paths[@]}"; do
  if [[ -d $path/$LAUNCH_DIR ]]; then
    launch_paths+=("$path/$LAUNCH_DIR")
    ignores+=("--ignore=$path/$LAUNCH_DIR")
  fi
done

unit_code=none launch_code=none
if (( ${#unit_paths[@]} )); then
  python -m pytest "${NO_LAUNCH_PLUGINS[@]}" "${unit_paths[@]}" "${ignores[@]}" "${options[@]}"
  unit_code=$?
fi
if (( ${#launch_paths[@]} )); then
  echo "[test] launch tests (own pytest process): ${launch_paths[*]}"
  python -m pytest "${launch_paths[@]}" "${options[@]}"
  launch_code=$?
fi

for code in "$unit_code" "$launch_code"; do
  [[ $code == none || $code == 0 || $code == 5 ]] || exit "$code"
done
[[ $unit_code == 0 || $launch_code == 0 ]] && exit 0
exit 5
