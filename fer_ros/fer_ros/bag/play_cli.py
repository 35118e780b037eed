"""Publish a rosbag2's image topics to live ROS 2 topics with their recorded timing.

    fer-ros bag-play fer_ros/data/sample/fer_sample --rate 1.0 --qos reliable --loop

For machines without `ros2 bag play`. Messages are republished byte for byte (serialized
CDR, original header stamps), paced by their recorded log times divided by --rate.
--remap FROM:=TO renames a topic (e.g. /camera/image_raw/compressed:=/demo/camera/image_raw/compressed);
--wait-subscribers S waits up to S seconds for a subscriber on every topic before the first
message, since DDS discovery takes seconds and earlier messages would be lost.
"""
from __future__ import annotations

import time
from pathlib import Path

from fer_ros.core.cli_args import (EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, add_json_argument,
                                   report_error, write_json)

HELP = "publish a rosbag2's image topics live with the original timing (ros2 bag play stand-in)"


def add_arguments(parser) -> None:
    parser.add_argument("bag", type=Path, help="rosbag2 directory (mcap or sqlite3) or .mcap file")
    parser.add_argument("--rate", type=float, default=1.0,
                        help="playback speed factor (2 = twice as fast; default 1)")
    parser.add_argument("--topics", nargs="+", metavar="TOPIC",
                        help="image topics to play (default: all image topics)")
    parser.add_argument("--qos", choices=("reliable", "best_effort"), default="reliable",
                        help="publisher reliability (default reliable, as cameras usually are)")
    parser.add_argument("--depth", type=int, default=5, help="publisher queue depth (keep-last)")
    parser.add_argument("--loop", action="store_true", help="start over at the end, until Ctrl-C")
    parser.add_argument("--remap", nargs="+", default=[], metavar="FROM:=TO",
                        help="publish topic FROM under the name TO")
    parser.add_argument("--wait-subscribers", type=float, default=0.0, metavar="SECONDS",
                        help="wait up to this long for a subscriber on each topic before playing")
    add_json_argument(parser, "what was published (messages, topics, seconds, damage)")


def parse_remaps(items: list[str]) -> dict[str, str]:
    remaps = {}
    for item in items:
        source, sep, target = item.partition(":=")
        if not sep or not source or not target:
            raise ValueError(f"--remap {item!r}: expected FROM:=TO, e.g. "
                             "/camera/image_raw:=/robot/camera/image_raw")
        remaps[source] = target
    return remaps


def run(args) -> int:
    from fer_ros.bag.reader import BagImageReader
    from fer_ros.core.errors import FerError
    if args.rate <= 0:
        return report_error("bag-play", f"--rate must be > 0, got {args.rate}", EXIT_USAGE)
    try:
        remaps = parse_remaps(args.remap)
        topics = BagImageReader(args.bag, args.topics, deserialize=False).topics
    except (FerError, ValueError) as exc:
        return report_error("bag-play", exc, EXIT_USAGE)
    import rclpy
    from rclpy.executors import ExternalShutdownException
    rclpy.init(args=None)
    player = None
    try:
        player = Player(args, topics, remaps)
        return player.play()
    except (KeyboardInterrupt, ExternalShutdownException):
        return EXIT_OK
    finally:
        if player is not None:
            player.node.destroy_node()
        rclpy.try_shutdown()


class Player:
    """One rclpy node with a publisher per image topic, replaying the bag in log-time order."""

    def __init__(self, args, topics, remaps: dict[str, str]) -> None:
        import rclpy
        from sensor_msgs.msg import CompressedImage, Image

        from fer_ros.bag.typestore import COMPRESSED
        from fer_ros.ros.qos import OVERRIDES, image_qos
        self.args = args
        self.node = rclpy.create_node("fer_bag_play")
        profile = image_qos(OVERRIDES[args.qos], args.depth)
        self.publishers = {
            t.topic: self.node.create_publisher(
                CompressedImage if t.msgtype == COMPRESSED else Image,
                remaps.get(t.topic, t.topic), profile)
            for t in topics}
        self.topics = [t.topic for t in topics]

    def wait_for_subscribers(self, timeout_s: float) -> None:
        import rclpy
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and rclpy.ok():
            if all(p.get_subscription_count() > 0 for p in self.publishers.values()):
                return
            rclpy.spin_once(self.node, timeout_sec=0.05)
        missing = [p.topic_name for p in self.publishers.values()
                   if p.get_subscription_count() == 0]
        if missing:
            self.node.get_logger().warning(f"no subscriber after {timeout_s} s on {missing}; "
                                           "playing anyway")

    def play(self) -> int:
        from fer_ros.bag.reader import BagImageReader
        if self.args.wait_subscribers > 0:
            self.wait_for_subscribers(self.args.wait_subscribers)
        total, started = 0, time.monotonic()
        while True:
            reader = BagImageReader(self.args.bag, self.topics, deserialize=False)
            sent = self._play_once(reader)
            total += sent
            if reader.damage:
                report_error("bag-play", f"{reader.damage} (played up to the damage)")
            if not self.args.loop or sent == 0:
                break
        self.flush()
        seconds = time.monotonic() - started
        print(f"published {total} messages on {len(self.publishers)} topic(s) in {seconds:.1f} s")
        write_json(self.args.json, {"messages": total, "topics": sorted(self.publishers),
                                    "seconds": round(seconds, 3), "damage": reader.damage})
        return EXIT_PARTIAL if reader.damage else EXIT_OK

    def flush(self, timeout_s: float = 5.0) -> None:
        """Wait until reliable subscribers acknowledged everything: exiting right after the
        last publish would drop a large message still being sent in fragments."""
        from rclpy.duration import Duration
        if self.args.qos == "reliable":
            for publisher in self.publishers.values():
                publisher.wait_for_all_acked(Duration(seconds=timeout_s))

    def _play_once(self, reader) -> int:
        """Publish every message when its recorded offset (scaled by --rate) has passed."""
        import rclpy
        first_log, start, sent = None, time.monotonic(), 0
        try:
            for item in reader:
                if not rclpy.ok():
                    break
                first_log = item.log_time_ns if first_log is None else first_log
                due = start + (item.log_time_ns - first_log) / 1e9 / self.args.rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self.publishers[item.topic].publish(item.msg)
                sent += 1
        finally:
            reader.close()
        return sent
