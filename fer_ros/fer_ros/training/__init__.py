"""Offline training (needs torch); the robot runtime never imports this package."""
