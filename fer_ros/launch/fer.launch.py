"""Start fer_node for one camera.

    ros2 launch fer_ros fer.launch.py image_topic:=/camera/image_raw
    ros2 launch fer_ros fer.launch.py namespace:=front image_topic:=/front/image_raw

What it runs (the same command line the tests start):
    fer_node --ros-args -r __node:=fer_node -r __ns:=/<namespace> -r image:=<image_topic> \
        --params-file <params_file> -p pipeline.classifier.bundle:=<model> ...
Arguments left empty keep the value from the params file.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from fer_ros.ros.params_doc import launch_description

# launch argument -> parameter it overrides when not empty
OVERRIDES = {"model": "pipeline.classifier.bundle", "backend": "pipeline.classifier.backend",
             "annotate": "annotate.enabled", "compressed": "input.compressed",
             "input_source": "input.source", "hri": "hri.enabled", "hri_prefix": "hri.prefix",
             "detections": "detections.enabled"}
BOOLEANS = {"annotate", "compressed", "hri", "detections"}
ARGUMENTS = [
    ("image_topic", "image", "Camera topic (sensor_msgs/Image) to subscribe to"),
    ("namespace", "", "Namespace of the node and its topics (one node per camera)"),
    ("params_file", PathJoinSubstitution([FindPackageShare("fer_ros"), "config", "fer.yaml"]),
     "Parameters file; default: the installed config/fer.yaml"),
] + [(name, "", launch_description(parameter)) for name, parameter in OVERRIDES.items()]


def _overrides(context) -> dict:
    values = {}
    for argument, parameter in OVERRIDES.items():
        text = LaunchConfiguration(argument).perform(context)
        if text:
            values[parameter] = text.lower() == "true" if argument in BOOLEANS else text
    return values


def _node(context):
    arg = LaunchConfiguration
    return [Node(
        package="fer_ros",
        executable="fer_node",
        name="fer_node",
        namespace=arg("namespace"),
        output="screen",
        emulate_tty=True,
        remappings=[("image", arg("image_topic"))],
        parameters=[arg("params_file"), _overrides(context)],  # later entries win
    )]


def generate_launch_description() -> LaunchDescription:
    declared = [DeclareLaunchArgument(name, default_value=default, description=text)
                for name, default, text in ARGUMENTS]
    return LaunchDescription(declared + [OpaqueFunction(function=_node)])
