"""The thin ROS 2 layer: messages <-> numpy, parameters, QoS, diagnostics and the node."""
