"""A core FrameResult as the JSON the page and API clients get.

``faces`` uses the fer_ros_msgs/EmotionArray field names (face_id, roi, detector_score, label,
confidence, scores): it is built by the same conversion the node publishes with
(core.emotion_array), with plain dicts as the "message classes". ``rows`` are the rows of
``fer-ros detect --json`` (files.rows.face_row), so downloads match the command line's.
"""
from __future__ import annotations

import base64
import csv
import io
from typing import Sequence

import cv2
import numpy as np

from fer_ros.core.annotate import draw_faces
from fer_ros.core.emotion_array import MessageTypes, build_emotion_array
from fer_ros.files.rows import csv_header, csv_cells, face_row

_DICT_TYPES = MessageTypes(emotion_array=dict, emotion=dict, roi=dict,
                           float_array=lambda scores: [round(float(p), 4) for p in scores])


def result_document(result, image: np.ndarray, pipeline, file: str, frame: int,
                    annotated: bool) -> dict:
    """The /api/detect answer for one image."""
    array = build_emotion_array(_DICT_TYPES, result, None, pipeline.model_name,
                                pipeline.model_version, image.shape)
    array.pop("header")
    document = dict(array, width=int(image.shape[1]), height=int(image.shape[0]),
                    timings_ms={k: round(v, 2) for k, v in result.timings_ms.items()},
                    rows=[face_row(file, frame, face, result.labels) for face in result.faces])
    if annotated:
        document["annotated_jpeg"] = jpeg_base64(draw_faces(image, result))
    return document


def jpeg_base64(image: np.ndarray, quality: int = 85) -> str:
    return base64.b64encode(encode_jpeg(image, quality)).decode("ascii")


def encode_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")  # not reachable for uint8 BGR
    return data.tobytes()


def rows_to_csv(rows: Sequence[dict], labels: Sequence[str]) -> str:
    """``fer-ros detect --csv`` text for rows collected by the page."""
    out = io.StringIO()
    writer = csv.writer(out)  # same dialect as CsvRows
    writer.writerow(csv_header(labels))
    for row in rows:
        writer.writerow(csv_cells(row, labels))
    return out.getvalue()
