"""ROS-free, torch-free inference core: frame -> faces -> emotions."""
