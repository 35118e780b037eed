"""The short terminal summary of a bag-eval report (the JSON holds everything)."""
from __future__ import annotations

from fer_ros.core.metrics import format_report

STAGES = ("decode", "detect", "preprocess", "classify", "track", "total")


def format_summary(report: dict) -> str:
    lines = [f"bag {report['bag']}: {report['frames']} frames, {report['faces']} faces, "
             f"{report['fps']:.1f} frames/s ({report['wall_s']:.1f} s) with model "
             f"{report['model']['name']} {report['model']['version']} "
             f"on {report['model']['backend']}",
             f"results: {report['result_bag']}"]
    for topic, t in report["topics"].items():
        lines += ["", f"{topic} -> {t['emotions_topic']}: {t['frames']} frames "
                  f"({t['frames_with_faces']} with faces), {t['faces']} faces, "
                  f"{len(t['tracks'])} tracks, {t['fps']:.1f} frames/s"]
        if t["bad_images"]:
            lines.append(f"  {t['bad_images']} undecodable images, first {t['first_bad_image']}")
        if t["label_counts"]:
            lines.append("  labels: " + ", ".join(f"{k} {v}" for k, v in t["label_counts"].items()))
        lines.append(f"  {'latency ms':<12}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}")
        for stage in STAGES:
            s = t["latency_ms"].get(stage)
            if s and s.get("count"):
                lines.append(f"  {stage:<12}{s['p50']:9.2f}{s['p90']:9.2f}{s['p99']:9.2f}"
                             f"{s['max']:9.2f}")
    for topic, score in (report.get("truth") or {}).items():
        lines += ["", f"truth {topic}: {score['truth_faces']} faces in {score['frames_scored']} "
                  f"frames; detected {score['detected']} (recall "
                  f"{score['detection_recall']:.3f}, IoU >= {score['iou_threshold']}), "
                  f"{score['false_positives']} false positives",
                  f"accuracy on detected faces {score['accuracy']:.4f}; end to end "
                  f"(missed = wrong) {score['end_to_end_accuracy']:.4f}"]
        if score["unmatched_label_names"]:
            lines.append(score["unmatched_label_names"])
        if score["detected"]:
            lines += ["", format_report(score["classification"])]
    if report.get("damage"):
        lines += ["", f"WARNING: {report['damage']}"]
    return "\n".join(lines)
