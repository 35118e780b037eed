"""Memory kept by rclpy/DDS per publisher created and destroyed, without fer_ros in the loop.

    python -m fer_ros.bench.publisher_churn --count 6000 --json benchmarks/publisher_churn.json

The REP-155 output creates two publishers per new face id and destroys them when the face
goes (docs/hri.md); the soak found the node's memory rising with that churn. This measures the
same life cycle on a bare rclpy node with std_msgs/String: ``count`` publishers on unique topic
names (``/humans/faces/f00042/roi``, as new faces get) and ``count`` on one reused name, the RSS
of this process every tenth of the way. Growth in both cases puts the cost in rclpy/rmw/DDS, not
in the node's bookkeeping; it is per new face, not per frame.
"""
from __future__ import annotations

import json
import sys

from fer_ros.bench import module_parser
from fer_ros.core.cli_args import write_json


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 1e6


def churn(node, count: int, unique: bool) -> dict:
    from std_msgs.msg import String
    samples = []
    for i in range(count + 1):
        name = f"/humans/faces/f{i:05d}/roi" if unique else "/humans/faces/same/roi"
        publisher = node.create_publisher(String, name, 1)
        publisher.publish(String(data="x"))
        node.destroy_publisher(publisher)
        if i % max(1, count // 10) == 0:
            samples.append({"publishers": i, "rss_mb": round(rss_mb(), 2)})
    grown = samples[-1]["rss_mb"] - samples[1]["rss_mb"]  # after the first tenth: warm-up
    per = (samples[-1]["publishers"] - samples[1]["publishers"]) or 1
    return {"topic_names": "unique" if unique else "one", "samples": samples,
            "kb_per_publisher_after_warmup": round(grown * 1000 / per, 3)}


def main(argv=None) -> int:
    parser = module_parser("fer_ros.bench.publisher_churn", __doc__)
    parser.add_argument("--count", type=int, default=6000, help="publishers per case")
    args = parser.parse_args(argv)
    import rclpy
    rclpy.init()
    node = rclpy.create_node("fer_ros_publisher_churn")
    try:
        report = {"count": args.count,
                  "cases": [churn(node, args.count, True), churn(node, args.count, False)]}
    finally:
        node.destroy_node()
        rclpy.shutdown()
    write_json(args.json, report)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
