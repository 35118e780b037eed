"""The server's inference: the core pipeline for photos (no tracking) and for one stream.

No model logic lives here: each call is ``Pipeline.process`` from fer_ros.core, the code the
node and ``fer-ros detect`` run. Photos are independent (tracking off, face_id untracked);
frames of a webcam or video stream go through a tracking pipeline, whose tracks restart
when another stream starts sending (one tracked stream at a time; others still get labels).
"""
from __future__ import annotations

import threading
from typing import Callable

import numpy as np

from fer_ros.core.annotate import COLOURS
from fer_ros.serve.results import result_document


class Engine:
    def __init__(self, pipeline_for: Callable[[bool], object]):
        self._pipeline_for = pipeline_for
        self.photos = pipeline_for(False)  # loads the model now: a bad --model fails at start
        self._stream_lock = threading.Lock()
        self._stream_id = ""

    def stream_pipeline(self):
        """The tracking pipeline (built on first use; pipeline_for caches it)."""
        with self._stream_lock:
            return self._pipeline_for(True)

    def detect(self, image: np.ndarray, file: str, frame: int, stream: str,
               annotated: bool) -> dict:
        """One image -> the /api/detect document. Runs in a worker thread."""
        pipeline = self.photos
        if stream:
            pipeline = self.stream_pipeline()
            with self._stream_lock:
                if stream != self._stream_id:  # a new clip or camera: track ids start afresh
                    pipeline.reset_tracks()
                    self._stream_id = stream
        result = pipeline.process(image)
        return result_document(result, image, pipeline, file, frame, annotated)

    def model_info(self) -> dict:
        """Name, version, labels, backend and the accuracy measured when the model was made."""
        bundle = self.photos.bundle
        meta = bundle.metadata
        return {"model_name": bundle.name, "model_version": bundle.version,
                "labels": list(bundle.labels), "arch": meta.get("arch", ""),
                "precision": meta.get("precision", ""),
                "dataset": meta.get("training", {}).get("dataset", ""),
                "metrics": meta.get("metrics", {}), "backend": self.photos.backend_name,
                "detector": self.photos.detector.name,
                # the page's bars use the colours of the annotated images (BGR -> #rrggbb)
                "colours": {label: "#%02x%02x%02x" % tuple(reversed(bgr))
                            for label, bgr in COLOURS.items()}}
