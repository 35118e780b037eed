"""Image messages out of a rosbag2 (mcap or sqlite3), surviving damaged recordings.

A healthy bag is read with ``rosbags``' AnyReader (uses the mcap index). When it cannot
be opened — a recording cut off by a crash or a full disk has no mcap summary/footer, and
often no metadata.yaml — the mcap file is scanned record by record from the start with
:func:`scan_mcap`, yielding every message up to the first damaged byte. Either way a
problem ends the iteration with ``reader.damage`` set to a message saying what was lost;
reading never hangs (every step consumes bytes of a file of known size).
"""
from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from fer_ros.bag.typestore import IMAGE_TYPES, typestore
from fer_ros.core.errors import InputError

MCAP_MAGIC = b"\x89MCAP0\r\n"
OP_SCHEMA, OP_CHANNEL, OP_MESSAGE, OP_CHUNK, OP_FOOTER = 0x03, 0x04, 0x05, 0x06, 0x02


class BagError(InputError):
    """The path is not a readable rosbag2, or holds none of the requested image topics."""


@dataclass
class ImageMessage:
    topic: str
    msgtype: str
    log_time_ns: int
    msg: object  # deserialized rosbags message (Image or CompressedImage), or CDR bytes


@dataclass
class TopicInfo:
    topic: str
    msgtype: str
    count: int | None  # None when unknown (salvaged bag)


class Truncated(Exception):
    """Raised inside the scanner at the first damaged or missing byte."""


def _mcap_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(path.glob("*.mcap"))


class BagImageReader:
    """Iterate the image messages of ``path`` (bag directory or .mcap file) in log order."""

    def __init__(self, path: str | Path, topics: Sequence[str] | None = None,
                 deserialize: bool = True) -> None:
        """``deserialize=False`` yields the raw CDR bytes (for republishing as they are)."""
        self.path = Path(path)
        self.deserialize = deserialize
        if not self.path.exists():
            raise BagError(f"bag {self.path} does not exist; pass a rosbag2 directory or an "
                           ".mcap file")
        self.requested = list(topics or [])
        self.damage: str | None = None
        self.salvaged = False
        self._reader = None
        self.topics = self._open()

    def _open(self) -> list[TopicInfo]:
        from rosbags.highlevel import AnyReader
        if self.path.is_dir() and (self.path / "metadata.yaml").is_file():
            try:
                self._reader = AnyReader([self.path], default_typestore=typestore())
                self._reader.open()
            except Exception as exc:  # rosbags raises several unrelated types here
                self._reader = None
                self._open_error = f"{type(exc).__name__}: {exc}"
            else:
                conns = [c for c in self._reader.connections if c.msgtype in IMAGE_TYPES]
                return self._select([TopicInfo(c.topic, c.msgtype, c.msgcount) for c in conns])
        else:
            self._open_error = "no metadata.yaml"
        files = _mcap_files(self.path)
        if not files:
            raise BagError(f"{self.path} cannot be read ({self._open_error}) and holds no "
                           ".mcap file to recover from; pass a rosbag2 directory or .mcap file")
        self.salvaged = True
        self._files = files
        channels, scan_error = _scan_channels(files[0])
        found = {topic: TopicInfo(topic, msgtype, None) for topic, msgtype in channels
                 if msgtype in IMAGE_TYPES}
        if not found:
            raise BagError(f"{self.path} cannot be read ({self._open_error}) and scanning "
                           f"{files[0].name} found no image topic"
                           + (f" ({scan_error})" if scan_error else ""))
        return self._select(list(found.values()))

    def _select(self, infos: list[TopicInfo]) -> list[TopicInfo]:
        if not self.requested:
            if not infos:
                raise BagError(f"bag {self.path} has no sensor_msgs/Image or CompressedImage "
                               "topic")
            return infos
        by_topic = {i.topic: i for i in infos}
        missing = [t for t in self.requested if t not in by_topic]
        if missing:
            raise BagError(f"topic(s) {missing} not among the image topics of {self.path}: "
                           f"{sorted(by_topic) or 'none'}")
        return [by_topic[t] for t in self.requested]

    @property
    def total(self) -> int | None:
        counts = [t.count for t in self.topics]
        return None if any(c is None for c in counts) else sum(counts)

    def __iter__(self) -> Iterator[ImageMessage]:
        wanted = {t.topic for t in self.topics}
        if self._reader is not None:
            yield from self._indexed(wanted)
        else:
            yield from self._scanned(wanted)

    def _indexed(self, wanted: set[str]) -> Iterator[ImageMessage]:
        reader = self._reader
        conns = [c for c in reader.connections if c.topic in wanted]
        done = 0
        try:
            for conn, t, raw in reader.messages(connections=conns):
                yield ImageMessage(conn.topic, conn.msgtype, t,
                                   reader.deserialize(raw, conn.msgtype)
                                   if self.deserialize else bytes(raw))
                done += 1
        except Exception as exc:  # damaged chunk, CRC mismatch, bad CDR, sqlite error
            self.damage = (f"bag {self.path} is damaged after {done} image messages "
                           f"({type(exc).__name__}: {exc}); results cover those messages only")

    def _scanned(self, wanted: set[str]) -> Iterator[ImageMessage]:
        store = typestore()
        note = f"bag {self.path} could not be opened normally ({self._open_error}); "
        done = 0
        for path in self._files:
            scan = McapScan(path)
            try:
                for topic, msgtype, t, raw in scan.messages():
                    if topic in wanted:
                        msg = store.deserialize_cdr(raw, msgtype) if self.deserialize else bytes(raw)
                        yield ImageMessage(topic, msgtype, t, msg)
                        done += 1
            except Exception as exc:  # Truncated, or a message that does not deserialize
                self.damage = (note + f"recovered {done} image messages; {path.name} "
                               f"({path.stat().st_size} bytes) is cut off or damaged: {exc}; "
                               "the rest of the recording is lost")
                return
            if not scan.complete:
                self.damage = (note + f"recovered {done} image messages; {path.name} ends "
                               "without an mcap footer (the recording was cut off)")

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def _scan_channels(path: Path) -> tuple[list[tuple[str, str]], str]:
    """(topic, msgtype) of the channels declared before the first damage, and the damage."""
    scan = McapScan(path)
    try:
        for _ in scan.messages():
            pass
    except Exception as exc:
        return list(scan.channels.values()), str(exc)
    return list(scan.channels.values()), ""


class McapScan:
    """Sequential reader of mcap records (spec: mcap.dev/spec), no index needed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.complete = False
        self.schemas: dict[int, str] = {}
        self.channels: dict[int, tuple[str, str]] = {}

    def messages(self) -> Iterator[tuple[str, str, int, bytes]]:
        # mmap: a salvaged multi-GB recording is paged in, not read into memory at once
        with open(self.path, "rb") as handle:
            if handle.read(8) != MCAP_MAGIC:
                raise Truncated("not an mcap file (bad magic)")
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                yield from self._records(data, top_level=True)

    def _records(self, data: bytes, top_level: bool) -> Iterator[tuple[str, str, int, bytes]]:
        pos, end = (8, len(data)) if top_level else (0, len(data))
        while pos < end:
            if pos + 9 > end:
                raise Truncated(f"record header cut off at byte {pos}")
            op, length = data[pos], struct.unpack_from("<Q", data, pos + 1)[0]
            body_start, pos = pos + 9, pos + 9 + length
            if pos > end:
                if op == OP_CHUNK and top_level:  # the recorder died while writing this chunk
                    yield from self._records(_partial_chunk_records(data[body_start:end]),
                                             top_level=False)
                where = "of the file" if top_level else "of a chunk"
                raise Truncated(f"record of {length} bytes at byte {body_start - 9} {where} "
                                "runs past its end")
            body = data[body_start:pos]
            if op == OP_FOOTER and top_level:
                self.complete = True
                return
            yield from self._record(op, body)

    def _record(self, op: int, body: bytes) -> Iterator[tuple[str, str, int, bytes]]:
        if op == OP_SCHEMA:
            (sid,) = struct.unpack_from("<H", body, 0)
            self.schemas[sid] = _string(body, 2)[0]
        elif op == OP_CHANNEL:
            cid, sid = struct.unpack_from("<HH", body, 0)
            topic = _string(body, 4)[0]
            self.channels[cid] = (topic, self.schemas.get(sid, ""))
        elif op == OP_MESSAGE:
            cid, _seq, log_time = struct.unpack_from("<HIQ", body, 0)
            if cid in self.channels:
                topic, msgtype = self.channels[cid]
                yield topic, msgtype, log_time, body[22:]
        elif op == OP_CHUNK:
            yield from self._records(_chunk_records(body), top_level=False)


def _string(body: bytes, pos: int) -> tuple[str, int]:
    (n,) = struct.unpack_from("<I", body, pos)
    if pos + 4 + n > len(body):
        raise Truncated("string runs past its record")
    return body[pos + 4:pos + 4 + n].decode("utf-8"), pos + 4 + n


def _chunk_records(body: bytes) -> bytes:
    from rosbags.rosbag2.storage_mcap import decompress  # zstd/lz4 + crc check
    _start, _end, size, crc = struct.unpack_from("<QQQI", body, 0)
    compression, pos = _string(body, 28)
    (n,) = struct.unpack_from("<Q", body, pos)
    records = body[pos + 8:pos + 8 + n]
    if len(records) != n:
        raise Truncated("chunk data cut off")
    return decompress(records, compression, size, crc)


def _partial_chunk_records(body: bytes) -> bytes:
    """The records present in a cut-off chunk; only an uncompressed chunk can be read so.

    The records are then parsed until the first cut-off one (which raises Truncated)."""
    if len(body) < 40:
        return b""
    compression, pos = _string(body, 28)
    if compression:  # a cut zstd/lz4 frame cannot be decoded reliably
        return b""
    return body[pos + 8:]
