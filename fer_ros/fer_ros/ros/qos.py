"""QoS of the image subscription: match the publishers found on the topic, or an override.

Large images lose fragments under best effort (measured with Fast DDS defaults: 640x480
bgr8 at ~7 Hz from a reliable publisher reached a best-effort subscriber 3-11 times of 30),
so a reliable camera gets a reliable subscription. A best-effort publisher cannot serve a
reliable subscriber, so if any publisher is best effort we subscribe best effort. This is
what ``ros2 bag record`` does. Keep-last 1: the node only ever wants the newest frame.
"""
from __future__ import annotations

from rclpy.qos import (DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy)

OVERRIDES = {"reliable": ReliabilityPolicy.RELIABLE,
             "best_effort": ReliabilityPolicy.BEST_EFFORT}


def publishers_reliability(node, topic: str) -> ReliabilityPolicy | None:
    """RELIABLE if every publisher on ``topic`` is reliable, BEST_EFFORT if any is not,
    None when there is no publisher yet."""
    infos = node.get_publishers_info_by_topic(topic)
    if not infos:
        return None
    if all(info.qos_profile.reliability == ReliabilityPolicy.RELIABLE for info in infos):
        return ReliabilityPolicy.RELIABLE
    return ReliabilityPolicy.BEST_EFFORT


def image_qos(reliability: ReliabilityPolicy, depth: int) -> QoSProfile:
    """Keep-last ``depth``, volatile, with the given reliability."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=reliability, durability=DurabilityPolicy.VOLATILE)


def choose_reliability(setting: str, node, topic: str) -> ReliabilityPolicy | None:
    """The reliability to subscribe with for ``setting`` (auto|reliable|best_effort);
    None = auto with no publisher yet (ask again later)."""
    if setting in OVERRIDES:
        return OVERRIDES[setting]
    return publishers_reliability(node, topic)


def policy_name(reliability: ReliabilityPolicy) -> str:
    return "reliable" if reliability == ReliabilityPolicy.RELIABLE else "best_effort"
