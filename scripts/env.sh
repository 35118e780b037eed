# Sourced by the scripts that run inside the environment built by setup.sh:
#   source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# Sets REPO, changes into it, and activates .venv plus the colcon install.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
[[ -f install/setup.bash ]] || { echo "[$(basename "$0")] install/setup.bash missing: run make setup" >&2; exit 1; }
source .venv/bin/activate
set +u  # colcon's setup scripts read unset variables
source install/setup.bash
set -u
# ROS puts executables in lib/<package> (for `ros2 run`): put them on PATH too, so `fer-ros`
# and `fer_node` are this checkout's (several checkouts may share one .venv).
export PATH="$REPO/install/fer_ros/lib/fer_ros:$PATH"
