"""The node's optional interfaces to other stacks, chosen from the config in one place:
REP-155 faces (:mod:`hri_output`), vision_msgs detections (:mod:`detections`), and the
ROS4HRI face input (:mod:`hri_input`). Message packages that are not installed switch
their output off with one log line; ``input.source: hri`` without hri_msgs is an error.
"""
from __future__ import annotations

import time

from fer_ros.core.errors import ConfigError, InputError
from fer_ros.ros.convert import image_to_bgr8
from fer_ros.ros.detections import DetectionsOutput, vision_available
from fer_ros.ros.hri_mapping import ExpressionMapper, FaceIdCodec
from fer_ros.ros.hri_output import HriOutput, hri_available

LOG_THROTTLE_S = 5.0


class FaceOutputs:
    """Builds the enabled outputs/inputs for ``node``; the worker calls publish/process_crops."""

    def __init__(self, node, config, pipeline, on_face_image) -> None:
        self.node, self.pipeline, self.log = node, pipeline, node.get_logger()
        self.hri = self.detections = self.hri_input = self.expressions = None
        self.malformed = 0
        self._untracked_logged = False
        if config.source == "hri":
            self._start_hri_input(config, on_face_image)
            return
        if config.hri_enabled and self._importable("hri.enabled", "hri_msgs", hri_available):
            try:
                self.hri = HriOutput(node, config.hri_prefix, pipeline.labels)
            except ValueError as exc:  # a bundle none of whose classes REP-155 can name
                self.log.warning(f"hri.enabled: REP-155 output off: {exc}")
            else:
                self._log_unmapped(self.hri.mapper)
        if config.detections_enabled and self._importable(
                "detections.enabled", "vision_msgs", vision_available):
            self.detections = DetectionsOutput(node, pipeline.labels)

    def _importable(self, parameter: str, package: str, available) -> bool:
        if available():
            return True
        self.log.info(f"{parameter}: {package} is not installed, so this output is off "
                      f"(install ros-<distro>-{package.replace('_', '-')} to get it)")
        return False

    def _log_unmapped(self, mapper: ExpressionMapper) -> None:
        if mapper.unmapped:
            self.log.info(f"classes {mapper.unmapped} have no hri_msgs/Expression constant: "
                          "the expression is the most probable class that has one")

    def _start_hri_input(self, config, on_face_image) -> None:
        from fer_ros.ros.hri_input import HriExpressions, HriFaceInput
        if not hri_available():
            raise ConfigError("input.source is hri but hri_msgs is not installed: install "
                              "ros-<distro>-hri-msgs (or build it), or set input.source camera")
        try:
            mapper = ExpressionMapper(self.pipeline.labels)
        except ValueError as exc:
            raise ConfigError(f"input.source hri: {exc}") from exc
        self._log_unmapped(mapper)
        self.expressions = HriExpressions(self.node, config.hri_prefix, self.pipeline, mapper,
                                          FaceIdCodec())
        self.hri_input = HriFaceInput(self.node, config.hri_prefix, config.hri_image,
                                      on_face_image)
        self.log.info(f"input.source hri: classifying {config.hri_prefix}/<id>/"
                      f"{config.hri_image} for the ids on {self.hri_input.tracked_topic}")

    def publish(self, result, header, image_shape) -> None:
        """Camera mode, after each processed frame."""
        if self.hri is not None:
            self.hri.publish(result, header, image_shape, self.pipeline.live_track_ids())
            if self.hri.untracked_skipped and not self._untracked_logged:
                self._untracked_logged = True
                self.log.info("faces without a track id have no REP-155 id and are left out "
                              "of the REP-155 topics; set pipeline.tracker.enabled true")
        if self.detections is not None:
            self.detections.publish(result, header, image_shape)

    def process_crops(self, crops, depth16: str) -> list:
        """hri mode: classify the pending face images -> [(FrameResult, header)] per frame."""
        start = time.perf_counter()
        live = self.hri_input.ids
        images, headers = {}, {}
        for rep_id, (msg, _) in crops.msgs.items():
            if rep_id not in live:
                continue
            try:
                images[rep_id], headers[rep_id] = image_to_bgr8(msg, depth16), msg.header
            except InputError as exc:
                self.malformed += 1
                self.log.warning(f"skipped the face image of {rep_id}: {exc}",
                                 throttle_duration_sec=LOG_THROTTLE_S)
        probs = self.expressions.classify(images) if images else {}
        frames = self.expressions.publish(probs, headers, live)
        total_ms = (time.perf_counter() - start) * 1000.0
        for _, result in frames:
            result.timings_ms["total"] = total_ms
        return [(result, header) for header, result in frames]

    def close(self) -> None:
        for part in (self.hri, self.expressions):
            if part is not None:
                part.faces.close()
