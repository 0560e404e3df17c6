"""Media: probe, decode and encode video files and frame folders.

Video files are read with PyAV (FFmpeg in-process: no subprocess per clip, any container,
including a WebM stream behind a ``.mp4`` name). Frame folders are lists of images read with
OpenCV. Frames come out as RGB ``uint8`` arrays of shape (H, W, 3).
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from gymdata.errors import CorruptMediaError, InputError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
_NUM = re.compile(r"(\d+)")


@dataclass
class MediaInfo:
    """What probing a clip tells: frames per second, frame count, size, duration, codec."""

    fps: float
    num_frames: int
    width: int
    height: int
    duration: float
    codec: str

    def asdict(self) -> dict:
        return asdict(self)


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_EXTENSIONS


def natural_key(name: str) -> list:
    """Sort key that orders ``img_2`` before ``img_10``."""
    return [int(t) if t.isdigit() else t.lower() for t in _NUM.split(name)]


def probe_video(path: str | Path, *, exact: bool = False, decode: bool = True) -> MediaInfo:
    """Probe a video file without decoding it.

    The frame count comes from the container header when it has one; otherwise (or with
    ``exact``) packets are counted by demuxing, which needs no decoding.

    Args:
        path: The video file.
        exact: Count packets even when the header gives a frame count.
        decode: Decode the first frame (catches files whose header is intact but whose data is
            not); with False only the first packet is read, several times faster on large frames.

    Raises:
        CorruptMediaError: If the file cannot be opened or has no video stream.
    """
    import av

    path = Path(path)
    try:
        found = path.is_file()
    except PermissionError:  # a folder on the way that this user may not enter
        raise InputError("permission denied", path=path,
                         hint="make the file and its folders readable, or run as a user who can read them") from None
    if not found:
        raise InputError("video file not found", path=path, hint="check the path or re-import the corpus")
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.video:
                raise CorruptMediaError("no video stream", path=path, hint="is this a video file?")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            fps = float(rate) if rate else 0.0
            frames = int(stream.frames or 0)
            # decoding the first frame catches truncated files whose header is intact
            if decode:
                first = next(container.decode(stream), None)
            else:
                first = next((p for p in container.demux(stream) if p.size), None)
            if first is None:
                raise CorruptMediaError("video has no decodable frames", path=path, hint="re-encode or remove the file")
            if exact or frames <= 0:
                container.seek(0)
                frames = sum(1 for p in container.demux(stream) if p.size)
            width, height = stream.codec_context.width, stream.codec_context.height
            codec = stream.codec_context.name
    except CorruptMediaError:
        raise
    except PermissionError:  # av's error subclasses the builtin one; re-encoding would not help
        raise InputError("permission denied", path=path,
                         hint="make the file readable (chmod a+r) or run as a user who can read it") from None
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise CorruptMediaError(f"cannot read video: {exc}", path=path, hint="re-encode or remove the file") from None
    if frames <= 0 or width <= 0 or height <= 0:
        raise CorruptMediaError("video has no decodable frames", path=path, hint="re-encode or remove the file")
    duration = frames / fps if fps else 0.0
    return MediaInfo(fps, frames, width, height, duration, codec)


def list_frame_files(folder: str | Path, pattern: str | None = None) -> list[Path]:
    """Image files of a frame folder in natural order, optionally matching a glob ``pattern``.

    The rule every clip's frames follow: files (not folders) whose extension is one of
    :data:`IMAGE_EXTENSIONS` in any case, hidden files (a name starting with ``.``, such as macOS's
    ``._img_00001.jpg``) left out, ordered by :func:`natural_key` (``img_2`` before ``img_10``).
    ``pattern`` is matched with :func:`fnmatch.fnmatchcase` (case-sensitive, as on the file system).

    Raises:
        InputError: If the folder does not exist.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("frame folder not found", path=folder, hint="check the corpus layout")
    names = (e.name for e in os.scandir(folder) if not e.name.startswith(".") and e.is_file())
    if pattern is not None:
        names = (n for n in names if fnmatch.fnmatchcase(n, pattern))
    files = sorted((n for n in names if n.lower().endswith(IMAGE_EXTENSIONS)), key=natural_key)
    return [folder / n for n in files]


def is_frame_pattern(where: str | Path) -> bool:
    """Whether a frame clip's path names a glob pattern of images (``Squat_frames/7_idx_0_*.jpg``)
    rather than a folder: its last part has a glob character and is not an existing folder."""
    where = Path(where)
    return any(ch in where.name for ch in "*?[") and not where.is_dir()


def frame_files(where: str | Path) -> list[Path]:
    """The images of a frame clip in order: ``where`` is a frame folder, or a folder and a glob
    pattern of file names (see :func:`list_frame_files` for which files count and their order).

    A pattern's folder is listed once per version of the folder (its mtime), not once per clip:
    ALEX-GYM-1 keeps every clip of an exercise in one folder of ~10,000 files, one pattern per clip.

    Raises:
        InputError: If the folder does not exist.
    """
    where = Path(where)
    if not is_frame_pattern(where):
        return list_frame_files(where)
    folder = where.parent
    try:
        st = folder.stat()
    except OSError:
        return list_frame_files(folder)  # raises the usual InputError
    names = _listing(str(folder), st.st_mtime_ns, st.st_ino)
    return [folder / n for n in names if fnmatch.fnmatchcase(n, where.name)]


@functools.lru_cache(maxsize=64)
def _listing(folder: str, mtime_ns: int, inode: int) -> tuple[str, ...]:
    return tuple(p.name for p in list_frame_files(folder))


def clip_files(where: str | Path, media_kind: str) -> list[Path]:
    """The media files of a clip: ``[video file]``, or its frame images in order (:func:`frame_files`).

    Args:
        where: The clip's resolved path (:meth:`gymdata.store.Dataset.resolve`).
        media_kind: ``video`` or ``frames``.

    Raises:
        InputError: If the video file or the frame folder is missing.
        CorruptMediaError: If a frame clip has no image.
    """
    where = Path(where)
    if media_kind == "video":
        if not where.is_file():
            raise InputError("video file not found", path=where, hint="re-import the corpus or restore the file")
        return [where]
    files = frame_files(where)
    if not files:
        raise CorruptMediaError("no frame images", path=where, hint="check the frame folder or pattern")
    return files


def probe_frames(files: Sequence[Path], fps: float = 30.0) -> MediaInfo:
    """Probe a clip stored as images: count them and read the size of the first one.

    Raises:
        CorruptMediaError: If there are no images or the first cannot be read.
    """
    import cv2

    if not files:
        raise CorruptMediaError("no frame images", hint="check the frame folder")
    img = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise CorruptMediaError("cannot read image", path=files[0], hint="re-extract the frames")
    height, width = img.shape[:2]
    return MediaInfo(float(fps), len(files), width, height, len(files) / fps if fps else 0.0, "image")


def sample_indices(num_frames: int, count: int) -> np.ndarray:
    """``count`` frame indices spread uniformly over a clip (``linspace(0, N-1, T)``, rounded)."""
    if num_frames <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.linspace(0, num_frames - 1, count).round().astype(np.int64)


def iter_video(path: str | Path, indices: Sequence[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Decode a video file, yielding ``(frame_index, rgb)`` for every frame or the given ones.

    Repeated indices are yielded once per occurrence, so uniform sampling of short clips works.

    Raises:
        CorruptMediaError: If decoding fails.
    """
    import av

    wanted = None if indices is None else sorted(int(i) for i in indices)
    pos = 0
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for i, frame in enumerate(container.decode(stream)):
                if wanted is None:
                    yield i, frame.to_ndarray(format="rgb24")
                    continue
                if pos >= len(wanted):
                    break
                if wanted[pos] == i:
                    rgb = frame.to_ndarray(format="rgb24")
                    while pos < len(wanted) and wanted[pos] == i:
                        yield i, rgb
                        pos += 1
    except av.FFmpegError as exc:
        raise CorruptMediaError(f"cannot decode video: {exc}", path=path, hint="re-encode or remove the file") from None


def iter_images(files: Sequence[Path], indices: Sequence[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Read a frame-folder clip, yielding ``(frame_index, rgb)``."""
    import cv2

    for i in range(len(files)) if indices is None else indices:
        bgr = cv2.imread(str(files[i]), cv2.IMREAD_COLOR)
        if bgr is None:
            raise CorruptMediaError("cannot read image", path=files[i], hint="re-extract the frames")
        yield int(i), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def resize_frame(rgb: np.ndarray, size: int, mode: str = "squash") -> np.ndarray:
    """Resize a frame to ``size`` x ``size``: ``squash`` (aspect ratio not kept, as the
    ALEX-GYM-1 models' ``Resize((224, 224))`` does) or ``crop`` (centre square, then resize)."""
    import cv2

    if mode == "crop":
        h, w = rgb.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        rgb = rgb[top:top + side, left:left + side]
    if rgb.shape[0] == size and rgb.shape[1] == size:
        return rgb
    return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)


def encode_h264(frames: Iterator[np.ndarray], out: str | Path, fps: float, *, crf: int = 23) -> int:
    """Encode RGB frames to an H.264 MP4 (yuv420p, browser-playable); returns the frame count.

    Written to a temporary name and renamed, so a failed encode leaves no partial file.
    """
    import av

    out = Path(out)
    tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")
    n = 0
    try:
        with av.open(str(tmp), "w") as container:
            stream = None
            for rgb in frames:
                if stream is None:
                    stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
                    stream.width, stream.height = rgb.shape[1] - rgb.shape[1] % 2, rgb.shape[0] - rgb.shape[0] % 2
                    stream.pix_fmt = "yuv420p"
                    stream.options = {"crf": str(crf), "preset": "veryfast", "threads": "1"}
                rgb = rgb[: stream.height, : stream.width]
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")):
                    container.mux(packet)
                n += 1
            if stream is not None:
                for packet in stream.encode():
                    container.mux(packet)
        if n == 0:
            raise CorruptMediaError("no frames to encode", path=out)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return n
