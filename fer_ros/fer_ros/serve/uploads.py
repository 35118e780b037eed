"""Uploaded images: read a multipart body into memory under a size cap, decode it safely.

Nothing here touches the disk: Starlette's own form parser spools files above 1 MB to a
temporary file, so the body is parsed with python-multipart's streaming parser into memory
instead, and the request is refused as soon as it passes the cap (no Content-Length needed).
Every refusal is an :class:`UploadError` carrying the HTTP status and a message for the page.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import AsyncIterator

import numpy as np
from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header

FIELD = "file"


class UploadError(Exception):
    """A request the server refuses: ``status`` is the HTTP code, the text says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    """Caps on one upload: body bytes, and decoded pixels / side of the image."""

    max_upload_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_side: int = 16384


def set_decoder_pixel_cap(max_pixels: int) -> None:
    """Make OpenCV refuse larger images before allocating them (a 100 KB PNG can declare
    30000x30000 pixels). OpenCV reads this variable once, so call it before cv2 decodes."""
    os.environ["OPENCV_IO_MAX_IMAGE_PIXELS"] = str(int(max_pixels))


async def read_file_field(content_type: str, chunks: AsyncIterator[bytes],
                          limit: int) -> tuple[str, bytes]:
    """(filename, bytes) of the multipart field ``file``; UploadError when missing or too big."""
    kind, params = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise UploadError(415, "send the image as multipart/form-data in the field 'file' "
                               "(curl -F file=@photo.jpg ...)")
    parts: list[dict] = []
    header: dict = {}

    def on_header_field(data, start, end):
        header["field"] = header.get("field", b"") + data[start:end]

    def on_header_value(data, start, end):
        header["value"] = header.get("value", b"") + data[start:end]

    def on_header_end():
        parts[-1]["headers"][header.pop("field", b"").lower()] = header.pop("value", b"")

    def on_part_data(data, start, end):
        parts[-1]["data"].extend(data[start:end])

    parser = MultipartParser(params[b"boundary"], {
        "on_part_begin": lambda: parts.append({"headers": {}, "data": bytearray()}),
        "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_part_data": on_part_data})
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise UploadError(413, f"upload is larger than the limit of {limit // (1024 * 1024)} "
                                   "MB; send a smaller image (or start the server with a "
                                   "larger --max-upload-mb)")
        try:
            parser.write(chunk)
        except MultipartParseError as exc:
            raise UploadError(400, f"the multipart form is malformed ({exc}); send the image "
                                   f"as the form field '{FIELD}'") from exc
    parser.finalize()
    for part in parts:
        _, disposition = parse_options_header(part["headers"].get(b"content-disposition", b""))
        if disposition.get(b"name") == FIELD.encode():
            return disposition.get(b"filename", b"upload").decode("utf-8", "replace"), \
                bytes(part["data"])
    raise UploadError(400, f"no field '{FIELD}' in the form; send the image as "
                           f"{FIELD}=<image file>")


def decode_image(data: bytes, filename: str, limits: Limits) -> np.ndarray:
    """Encoded image bytes -> uint8 BGR, or UploadError (415 not an image, 413 too large)."""
    import cv2

    if not data:
        raise UploadError(400, f"{filename}: the file is empty")
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:  # OpenCV's pixel cap (set_decoder_pixel_cap) trips before decoding
        if "IMAGE_PIXELS" in str(exc) or "validateInputImageSize" in str(exc):
            raise UploadError(413, _too_large(filename, limits)) from exc
        raise UploadError(415, _unreadable(filename)) from exc
    if image is None:
        raise UploadError(415, _unreadable(filename))
    height, width = image.shape[:2]
    if height * width > limits.max_pixels or max(height, width) > limits.max_side:
        raise UploadError(413, _too_large(filename, limits, f"{width}x{height} pixels"))
    return image


def _unreadable(filename: str) -> str:
    return (f"{filename}: not a readable image (corrupt, truncated or not an image); "
            "send a JPEG, PNG, BMP or WebP photo")


def _too_large(filename: str, limits: Limits, size: str = "too many pixels") -> str:
    return (f"{filename}: {size}, above the limit of {limits.max_pixels / 1e6:g} megapixels "
            f"and {limits.max_side} pixels per side; resize the image first")
