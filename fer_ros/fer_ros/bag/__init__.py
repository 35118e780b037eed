"""Rosbag2 tools without ROS: the sample recording, replay evaluation and playback.

Reading and writing uses the pure-Python ``rosbags`` library (mcap and sqlite3), so
``fer-ros bag-eval`` also serves users without a ROS install; only ``bag-play`` needs rclpy.
"""
