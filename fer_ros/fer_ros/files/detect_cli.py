"""Find faces and their emotions in photos, folders and videos, without ROS.

    fer-ros detect photos/ party.jpg clip.mp4 --out annotated/ --json faces.json
    fer-ros detect collection/ --labels collection/labels.csv --json report.json

INPUT is any mix of image files, folders (searched recursively) and video files
(anything OpenCV/FFmpeg reads). Every face becomes one row (file, frame, box,
detector score, track id, label, confidence, class scores) in --json / --csv;
--out receives annotated copies. Unreadable files are reported and skipped.
With --labels (a CSV with columns file,label) the largest face of each listed
photo is scored against its label; a photo without a face counts as wrong.
Runs on the CPU with the packaged default model unless told otherwise.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fer_ros.core.cli_args import add_json_argument, add_model_argument, report_error

HELP = "faces and emotions in photos, folders and videos (no ROS)"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image files, folders (recursive) and video files")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="write annotated copies here (folder structure kept; "
                             "videos as .mp4)")
    add_json_argument(parser, "every face, every file's status and the score report")
    parser.add_argument("--csv", type=Path, metavar="OUT", help="write one CSV row per face")
    parser.add_argument("--labels", type=Path, metavar="CSV",
                        help="score a labelled collection: CSV with columns file,label "
                             "(file relative to the CSV's folder)")
    parser.add_argument("--video-stride", type=_positive_int, default=1, metavar="N",
                        help="classify every N-th video frame (default 1: all)")
    add_pipeline_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    """Model, device and detector options, shared with `fer-ros serve`."""
    add_model_argument(parser)
    parser.add_argument("--device", choices=("cpu", "auto", "cuda"), default="cpu",
                        help="where the classifier runs (default cpu)")
    parser.add_argument("--threads", type=_positive_int, default=2,
                        help="CPU threads for the classifier (default 2)")
    parser.add_argument("--score-threshold", type=float, default=None, metavar="S",
                        help="face detector score threshold in [0, 1] (default: the "
                             "pipeline's, 0.6)")
    parser.add_argument("--detect-max-side", type=int, default=640, metavar="PX",
                        help="detect faces on a copy whose longer side is at most PX; boxes "
                             "and face crops stay full resolution (default 640: YuNet misses "
                             "faces larger than ~400 px, so close-ups in camera-size photos "
                             "need the downscale; raise it for small faces in group shots; "
                             "0 = full resolution)")


def pipeline_factory(args):
    """tracking flag -> a Pipeline, built once per flag (photos: off, videos: on)."""
    from fer_ros.core.config import PipelineConfig
    from fer_ros.core.pipeline import Pipeline

    detector = {"detect_max_side": args.detect_max_side}
    if args.score_threshold is not None:
        detector["score_threshold"] = args.score_threshold
    built: dict[bool, Pipeline] = {}

    def pipeline_for(tracking: bool) -> Pipeline:
        if tracking not in built:
            built[tracking] = Pipeline(PipelineConfig.from_dict({
                "detector": detector,
                "classifier": {"bundle": args.model or "", "device": args.device,
                               "backend": "onnxruntime" if args.device == "cpu" else "auto",
                               "threads": args.threads},
                "tracker": {"enabled": tracking}}))
        return built[tracking]
    return pipeline_for


def _summary_line(summary: dict, problems: int, out_dir) -> str:
    return (f"{summary['photos']} photo(s), {summary['videos']} video(s), "
            f"{summary['frames_processed']} frame(s) classified, {summary['faces']} face(s) "
            f"in {summary['seconds']:.1f} s ({summary['cpu_seconds']:.1f} CPU s); "
            f"{summary['skipped'] + problems} input(s) skipped"
            + (f"; annotated copies in {out_dir}" if out_dir else ""))


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from fer_ros.core.annotate import draw_probability_bars
    from fer_ros.core.errors import FerError
    from fer_ros.files.inputs import discover
    from fer_ros.files.rows import CsvRows, write_json
    from fer_ros.files.runner import DetectRun
    from fer_ros.files.scoring import CollectionScorer, format_collection_report, read_label_csv

    started, cpu_started = time.perf_counter(), time.process_time()
    found = discover(args.inputs)
    for arg, problem in found.problems:
        _log(f"skipped {arg}: {problem}")
    if not found.files:
        return report_error("detect", "no image or video files to process; pass images, "
                            "folders or videos")
    try:
        pipeline_for = pipeline_factory(args)
        photos_pipeline = pipeline_for(False)  # load the model now: a bad --model stops here
        labels = tuple(photos_pipeline.labels)
        scorer = (CollectionScorer(read_label_csv(args.labels), labels)
                  if args.labels else None)
    except FerError as exc:
        return report_error("detect", exc)
    csv_rows = CsvRows(args.csv, labels) if args.csv else None
    job = DetectRun(pipeline_for, draw_probability_bars, out_dir=args.out,
                    video_stride=args.video_stride, progress=not args.no_progress, scorer=scorer,
                    on_row=csv_rows.write if csv_rows else None)
    try:
        job.run_all(found.files)
    finally:
        if csv_rows:
            csv_rows.close()
    # CPU seconds (all threads of this process) tell the work apart from waiting for a busy CPU
    summary = dict(job.summary(), seconds=round(time.perf_counter() - started, 3),
                   cpu_seconds=round(time.process_time() - cpu_started, 3))
    print(_summary_line(summary, len(found.problems), args.out))
    report = scorer.report() if scorer else None
    if report:
        print(format_collection_report(report))
    if args.json:
        write_json(args.json, {
            "model": {"name": photos_pipeline.model_name, "version": photos_pipeline.model_version,
                      "backend": photos_pipeline.backend_name},
            "labels": list(labels), "summary": summary,
            "problems": [{"input": a, "error": p} for a, p in found.problems],
            "files": job.file_records(), "faces": job.rows, "score": report})
    return 0 if summary["photos"] + summary["videos"] else 1
