"""Photos and videos through the inference pipeline: rows, annotated copies, scoring.

Photos are independent, so they go through a pipeline with tracking off (no
smoothing across unrelated pictures, track_id -1). Each video gets a fresh
track state on a pipeline with tracking on, so ids are stable within a video.
A file that cannot be read is recorded with its error and skipped.
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from fer_ros.core.errors import InputError
from fer_ros.core.types import FrameResult
from fer_ros.files.frames import open_video, read_image
from fer_ros.files.inputs import IMAGE, UNKNOWN, VIDEO, InputFile
from fer_ros.files.outputs import (VideoOutput, annotated_image_path, annotated_video_path,
                                   write_image)
from fer_ros.files.rows import face_row


@dataclass
class FileRecord:
    """What happened to one input file (goes to the JSON summary)."""

    file: str
    kind: str
    frames: int = 0
    frames_processed: int = 0
    faces: int = 0
    annotated: str = ""
    error: str = ""


@dataclass
class DetectRun:
    """Runs files through ``pipeline_for(tracking)`` and collects everything written."""

    pipeline_for: Callable[[bool], object]        # tracking flag -> Pipeline
    draw: Callable[[np.ndarray, FrameResult], np.ndarray]
    out_dir: Path | None = None
    video_stride: int = 1
    progress: bool = True
    on_row: Callable[[dict], None] | None = None  # e.g. the streaming CSV writer
    scorer: object | None = None                  # CollectionScorer for --labels
    rows: list[dict] = field(default_factory=list)
    records: list[FileRecord] = field(default_factory=list)

    def run_all(self, files: list[InputFile]) -> None:
        photos = [f for f in files if f.kind != VIDEO]
        videos = [f for f in files if f.kind == VIDEO]
        for item in tqdm(photos, desc="photos", unit="img", disable=not self.progress or
                         not photos, dynamic_ncols=True):
            self._keep(self._photo_or_unknown(item))
        for item in videos:
            self._keep(self._guarded(self.video, item, VIDEO))

    def _keep(self, record: FileRecord) -> None:
        if record.error:  # tqdm.write keeps the message clear of the progress bar
            tqdm.write(f"skipped {record.error}", file=sys.stderr)
        self.records.append(record)

    def _photo_or_unknown(self, item: InputFile) -> FileRecord:
        if item.kind == UNKNOWN:  # an explicitly named file without a known extension
            record = self._guarded(self.photo, item, IMAGE)
            if not record.error:
                return record
            record = self._guarded(self.video, item, VIDEO)
            if record.error:
                record.kind = UNKNOWN
                record.error = f"{item.path}: neither a readable image nor a readable video"
            return record
        return self._guarded(self.photo, item, IMAGE)

    def _guarded(self, process, item: InputFile, kind: str) -> FileRecord:
        record = FileRecord(str(item.path), kind)
        try:
            process(item, record)
        except InputError as exc:  # unreadable input: reported, skipped, never fatal
            record.error = str(exc)
            if self.scorer is not None and kind == IMAGE:
                self.scorer.add_unreadable(item.path)
        return record

    def _add_rows(self, file: str, frame: int, result: FrameResult) -> None:
        for face in result.faces:
            row = face_row(file, frame, face, result.labels)
            self.rows.append(row)
            if self.on_row:
                self.on_row(row)

    def photo(self, item: InputFile, record: FileRecord) -> None:
        image = read_image(item.path)
        result = self.pipeline_for(False).process(image)
        record.frames = record.frames_processed = 1
        record.faces = len(result.faces)
        self._add_rows(str(item.path), 0, result)
        if self.scorer is not None:
            self.scorer.add(item.path, result)
        if self.out_dir is not None:
            target = annotated_image_path(self.out_dir, item.relative)
            write_image(target, self.draw(image, result))
            record.annotated = str(target)

    def video(self, item: InputFile, record: FileRecord) -> None:
        pipeline = self.pipeline_for(True)
        pipeline.reset_tracks()  # track ids start afresh in every video
        with open_video(item.path) as video:
            writer = None
            if self.out_dir is not None:
                writer = VideoOutput(annotated_video_path(self.out_dir, item.relative), video.fps)
                record.annotated = str(writer.path)
            bar = tqdm(total=video.frame_count or None, desc=item.path.name, unit="frame",
                       disable=not self.progress, dynamic_ncols=True, leave=False)
            result = None
            try:
                for index, frame, process in video.frames(self.video_stride):
                    if process:
                        result = pipeline.process(frame)
                        record.frames_processed += 1
                        record.faces += len(result.faces)
                        self._add_rows(str(item.path), index, result)
                    if writer is not None:
                        # skipped frames show the latest result, so the video keeps its speed
                        writer.write(self.draw(frame, result) if result else frame)
                    record.frames += 1
                    bar.update()
            finally:
                bar.close()
                if writer is not None:
                    writer.close()

    def summary(self) -> dict:
        done = [r for r in self.records if not r.error]
        return {
            "photos": sum(r.kind == IMAGE for r in done),
            "videos": sum(r.kind == VIDEO for r in done),
            "frames_processed": sum(r.frames_processed for r in done),
            "faces": sum(r.faces for r in done),
            "skipped": sum(bool(r.error) for r in self.records),
        }

    def file_records(self) -> list[dict]:
        return [asdict(r) for r in self.records]
