"""INPUT arguments (files and folders) -> a sorted list of photos and videos to process.

Folders are searched recursively; inside a folder only known image and video
extensions are taken (a README or a .csv next to the photos is not an input).
A file named explicitly is always tried: by extension when known, otherwise
as an image first and then as a video. Problems (missing paths, empty folders)
are collected, never raised: one bad argument must not stop a whole run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".tif", ".tiff", ".webp",
    ".pbm", ".pgm", ".ppm", ".pnm", ".jp2", ".sr", ".ras", ".exr", ".hdr", ".pic"})
# .gif: cv2.imread cannot decode it, but FFmpeg (VideoCapture) can.
VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv",
    ".3gp", ".ts", ".mts", ".m2ts", ".ogv", ".gif", ".mjpeg", ".mjpg", ".y4m"})

IMAGE, VIDEO, UNKNOWN = "image", "video", "unknown"


@dataclass(frozen=True)
class InputFile:
    """One file to process. ``relative`` is where its outputs go under --out."""

    path: Path
    kind: str        # IMAGE, VIDEO or UNKNOWN (decided when it is read)
    relative: Path


@dataclass
class Discovery:
    files: list[InputFile] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (argument, message)

    @property
    def images(self) -> list[InputFile]:
        return [f for f in self.files if f.kind != VIDEO]

    @property
    def videos(self) -> list[InputFile]:
        return [f for f in self.files if f.kind == VIDEO]


def kind_of(path: Path) -> str:
    ext = path.suffix.lower()
    if ext in IMAGE_EXTENSIONS:
        return IMAGE
    if ext in VIDEO_EXTENSIONS:
        return VIDEO
    return UNKNOWN


def _folder_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in
                                             p.relative_to(folder).parts)
                  and kind_of(p) != UNKNOWN)


def discover(arguments: list[str]) -> Discovery:
    """Expand INPUT arguments; each real file appears once, in argument order."""
    found = Discovery()
    seen: set[Path] = set()
    used_relative: set[Path] = set()

    def add(path: Path, kind: str, relative: Path) -> None:
        key = path.resolve()
        if key in seen:
            return
        seen.add(key)
        found.files.append(InputFile(path, kind, _unique(relative, used_relative)))

    for arg in arguments:
        path = Path(arg)
        if path.is_dir():
            members = _folder_files(path)
            if not members:
                found.problems.append((arg, "folder holds no image or video files "
                                            f"(looked for {', '.join(sorted(IMAGE_EXTENSIONS))}"
                                            f"; {', '.join(sorted(VIDEO_EXTENSIONS))})"))
            base = Path(path.resolve().name or "input")
            for member in members:
                add(member, kind_of(member), base / member.relative_to(path))
        elif path.is_file():
            add(path, kind_of(path), Path(path.name))
        else:
            found.problems.append((arg, "no such file or folder"))
    return found


def _unique(relative: Path, used: set[Path]) -> Path:
    """Two inputs with the same name (a/x.jpg, b/x.jpg given as files) get x.jpg, x_1.jpg."""
    candidate, n = relative, 0
    while candidate in used:
        n += 1
        candidate = relative.with_name(f"{relative.stem}_{n}{relative.suffix}")
    used.add(candidate)
    return candidate
