"""Running the inference core on files (photos, folders, videos) without ROS: input
discovery, frame reading, result rows, annotated copies and labelled-collection scoring.
Used by ``fer-ros detect``; torch-free like the core."""
