"""Exporters: one module per format, found through the ``gymdata.exporters`` entry-point group.

``gymdata export NAME --format F [--split S] OUT [--overwrite] [-o KEY=VALUE ...]`` loads the
entry point named ``F`` and calls it. The interface an entry point must name:

    ``exporter(ds, out, *, split=None, overwrite=False, workers=1, progress=True, **options)``

    * ``ds``: the :class:`gymdata.store.Dataset`;
    * ``out``: the output folder, which must not exist unless ``overwrite``;
    * ``split``: a split selection (see :func:`gymdata.splits.select_videos`): ``None`` for every
      clip, ``PART`` of the default split, ``NAME:PART``, or a whole named split ``NAME``;
    * ``workers``/``progress``: for the exporters that decode or encode media;
    * ``options``: format-specific options, as typed values or as the strings given with
      ``-o KEY=VALUE`` on the command line;
    * returns an object whose ``str()`` is a one-line summary; raises
      :class:`gymdata.errors.GymdataError` subclasses for bad input (unknown option, empty split,
      existing ``out``...), which the CLI prints as one line.

The :class:`Exporter` class implements that contract for the formats here, and third-party
formats can use it too: it selects the clips, checks and converts the options, and builds the
output in a hidden temporary folder next to ``out`` that is renamed into place only when the
export succeeded (an interrupted export, Ctrl-C or SIGTERM included, leaves no ``out``).

Formats (entry points in ``pyproject.toml``):

====================  ==========================  ====================================================
format                module                      what
====================  ==========================  ====================================================
``hf-parquet``        :mod:`exporters.hf`         Parquet per part, ``datasets.load_dataset("parquet")``
``hf-disk``           :mod:`exporters.hf`         a saved ``datasets.DatasetDict`` with typed features
``fiftyone``          :mod:`exporters.fiftyone_dir`  a FiftyOneDataset directory
``alex-gym-1``        :mod:`exporters.alexgym`    spreadsheets + pose JSON + frame folders
``flex``              :mod:`exporters.flex`       FLEX frame folders, skeletons, EMG, Split_4 lists
``scores-csv``        :mod:`exporters.scorer`     ``<exercise>_<part>/`` videos + ``relative_path,score``
``repcount``          :mod:`exporters.repcount`   RepCount-A annotation CSV (+ videos)
``arrays``            :mod:`exporters.torch_arrays`  memory-mapped clips and poses + torch Datasets
====================  ==========================  ====================================================
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gymdata import labels
from gymdata.errors import DatasetExistsError, InputError
from gymdata.guard import guard_output
from gymdata.media import encode_h264, frame_files, iter_images, iter_video, resize_frame  # noqa: F401 (resize_frame: kept importable here)
from gymdata.runner import run_tasks
from gymdata.safety import clean_leftovers, naming
from gymdata.splits import select_videos
from gymdata.store import Dataset, swap_into_place

_TRUE = {"1", "true", "yes", "on"}
#: Folder of an export that holds model predictions (``-o predictions=true``), apart from the truth.
PREDICTIONS_DIR = "predictions"
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Option:
    """A format-specific option.

    Attributes:
        type: ``int``, ``float``, ``str`` or ``bool``; strings from the command line are converted.
        default: Value when the option is not given.
        help: One line for ``gymdata export --list-formats``.
        choices: Allowed values, if restricted.
    """

    type: type
    default: Any
    help: str
    choices: tuple | None = None

    def convert(self, name: str, value: Any) -> Any:
        if isinstance(value, str) and self.type is not str:
            text = value.strip().lower()
            try:
                if self.type is bool:
                    if text not in _TRUE | _FALSE:
                        raise ValueError
                    value = text in _TRUE
                else:
                    value = self.type(text)
            except ValueError:
                raise InputError(f"option {name}={value!r} is not a valid {self.type.__name__}") from None
        if self.choices is not None and value not in self.choices:
            raise InputError(f"option {name}={value!r} is not one of {', '.join(map(str, self.choices))}")
        return value


@dataclass
class ExportResult:
    """What an export wrote."""

    format: str
    out: Path
    clips: int
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        extra = ", ".join(f"{k} {v}" for k, v in self.details.items())
        return f"exported {self.clips} clips as {self.format} to {self.out}" + (f" ({extra})" if extra else "")


@contextlib.contextmanager
def atomic_output(out: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """A hidden temporary folder next to ``out``, renamed to ``out`` when the block succeeds.

    On any exception (and on SIGTERM, turned into KeyboardInterrupt while the block runs in the
    main thread) the temporary folder is removed and ``out`` is left as it was.

    Raises:
        DatasetExistsError: If ``out`` exists and ``overwrite`` is false.
        InputError: If ``out`` exists and is not a folder.
    """
    out = Path(out).absolute()
    guard_output(out, overwrite=overwrite)
    if out.exists():
        if not out.is_dir():
            raise InputError("output path exists and is not a folder", path=out, hint="choose another OUT")
        if not overwrite:
            raise DatasetExistsError("output folder already exists", path=out,
                                     hint="pass --overwrite to replace it, or choose another OUT")
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(out.parent, out.name)  # what an export killed before its cleanup left behind
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with naming(out, tmp):  # a write that fails without a file name (a full disk): name the output
            yield tmp
        swap_into_place(tmp, out)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(tmp, ignore_errors=True)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


WriteFn = Callable[..., dict]


@dataclass(frozen=True)
class Exporter:
    """A format: options plus a ``write(ds, videos, out, *, workers, progress, **options)`` function.

    ``write`` receives the selected clips (the ``videos`` rows, ``split`` set to their part) and an
    empty folder to fill, and returns details to print (counts of files, rows...).
    """

    name: str
    description: str
    write: WriteFn
    options: dict[str, Option] = field(default_factory=dict)

    def parse_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Options with defaults filled in and strings converted.

        Raises:
            InputError: On an unknown option or a value of the wrong type.
        """
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = ", ".join(sorted(self.options)) or "none"
            raise InputError(f"format {self.name!r} has no option {unknown[0]!r}", hint=f"its options: {known}")
        return {k: opt.convert(k, options[k]) if k in options else opt.default for k, opt in self.options.items()}

    def __post_init__(self) -> None:
        # every format takes -o predictions=..., handled here rather than by each write function
        object.__setattr__(self, "options", {**self.options, "predictions": PREDICTIONS_OPTION})

    def __call__(self, ds: Dataset, out: str | Path, *, split: str | None = None, overwrite: bool = False,
                 workers: int = 1, progress: bool = True, **options: Any) -> ExportResult:
        opts = self.parse_options(options)
        with_predictions = opts.pop("predictions")
        videos = select_videos(ds, split)
        with atomic_output(out, overwrite=overwrite) as tmp:
            details = self.write(ds, videos, tmp, workers=workers, progress=progress, **opts)
            if with_predictions:
                written = write_predictions(ds, videos["video_id"], tmp)
                details["predictions"] = ", ".join(f"{t} {n}" for t, n in written.items()) or "none"
        return ExportResult(self.name, Path(out).absolute(), len(videos), details)


# --------------------------------------------------------------------------------------------
# Helpers shared by the formats
# --------------------------------------------------------------------------------------------

def clip_media(ds: Dataset, clip: pd.Series | dict) -> tuple[str, Path | list[Path]]:
    """(``"video"``, file) or (``"frames"``, image files in order: :func:`gymdata.media.frame_files`) of a clip."""
    path = ds.resolve(clip["corpus"], clip["path"])
    if clip["media_kind"] == "frames":
        return "frames", frame_files(path)
    return "video", path


def read_frames(ds: Dataset, clip: pd.Series | dict, indices=None) -> Iterator[tuple[int, np.ndarray]]:
    """Decode a clip's frames (all, or ``indices``) as ``(index, rgb uint8 HxWx3)``."""
    kind, media = clip_media(ds, clip)
    return iter_images(media, indices) if kind == "frames" else iter_video(media, indices)


def labels_of(ds: Dataset, table: str, video_ids, columns: list[str] | None = None) -> pd.DataFrame:
    """The given clips' rows of ``poses``/``signals``, or their *current ground-truth* labels of a
    label table (imported and human rows as :func:`gymdata.labels.current` resolves them; model
    predictions never)."""
    from gymdata.schema import LABEL_TABLES, TABLES

    if not ds.has(table):
        names = columns or TABLES[table].schema.names
        return pd.DataFrame({c: pd.Series(dtype=object) for c in names})
    if table in LABEL_TABLES:
        df = labels.current(ds, table, video_ids=list(video_ids))
        return df[columns] if columns else df
    return ds.df(table, columns=columns, filter={"video_id": list(video_ids)})


def write_predictions(ds: Dataset, video_ids, out: Path) -> dict[str, int]:
    """Write the clips' model predictions to ``out/predictions/<table>.csv`` (only tables that hold
    some): the latest prediction per label key, with the run id in ``annotator``. Ground-truth files
    never contain them."""
    from gymdata.schema import LABEL_TABLES

    written = {}
    for table in LABEL_TABLES:
        df = labels.predictions(ds, table, video_ids=list(video_ids))
        if df.empty:
            continue
        (out / PREDICTIONS_DIR).mkdir(exist_ok=True)
        df.to_csv(out / PREDICTIONS_DIR / f"{table}.csv", index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
        written[table] = len(df)
    return written


def place_file(src: Path, dst: Path, *, link: bool = False) -> None:
    """Copy ``src`` to ``dst``, or hard-link it when ``link`` (falling back to a copy across file
    systems). Links cost no space but share the file: a tool that edits the export in place
    would edit the source too, hence copies by default."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if link:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass
    shutil.copyfile(src, dst)


PREDICTIONS_OPTION = Option(bool, False, "also write model predictions (latest per clip) to predictions/<table>.csv; "
                                         "ground-truth files never hold them")
LINK_OPTION = Option(bool, False, "hard-link media files into OUT instead of copying them")


@dataclass(frozen=True)
class DecodeTask:
    """Decode ``indices`` of one clip, resize, and write them into row ``row`` of a uint8
    ``.npy`` array of shape (N, T, size, size, 3) (done in a worker process)."""

    row: int
    kind: str
    media: Any
    indices: tuple[int, ...]
    size: int
    resize: str
    array: str


def decode_into(task: DecodeTask) -> int:
    """Run a :class:`DecodeTask`; returns the number of frames written.

    Indices past the clip's last decodable frame (a header that over-counts) repeat the last
    frame that was decoded.
    """
    arr = np.load(task.array, mmap_mode="r+")
    reader = iter_images(task.media, task.indices) if task.kind == "frames" else iter_video(task.media, task.indices)
    n, last = 0, None
    for n, (_, rgb) in enumerate(reader, start=1):
        last = resize_frame(rgb, task.size, task.resize)
        arr[task.row, n - 1] = last
    if last is None:
        raise InputError("no frame could be decoded", path=task.media if task.kind == "video" else None)
    arr[task.row, n:] = last
    # no flush: it would sync the whole mapping; the written pages are in the page cache, which
    # every process (and the file) sees
    return n


def file_names(videos: pd.DataFrame, folders: pd.Series, ext: pd.Series) -> pd.Series:
    """A file name per clip: the source file's name when it is unique within its output folder,
    else one made from the clip id (``squat/s01_take1`` -> ``squat__s01_take1``).

    Args:
        videos: The clips (``video_id``, ``path``).
        folders: Output folder of each clip (aligned with ``videos``).
        ext: Extension of each output file, with its dot.
    """
    stems = videos["path"].map(lambda p: Path(p.replace("*", "")).stem or "clip")
    names = stems.map(safe_name) + ext
    clash = names.groupby(folders.to_numpy()).transform(lambda n: n.duplicated(keep=False)).to_numpy()
    by_id = videos["video_id"].map(safe_name) + ext
    return names.where(~clash, by_id)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """A file-name-safe form of a clip id (``squat/s01_take1`` -> ``squat__s01_take1``)."""
    return _UNSAFE.sub("_", text.replace("/", "__")).strip("._") or "clip"


@dataclass(frozen=True)
class EncodeTask:
    """Encode a frame-folder clip (image files in order) to an H.264 MP4 (in a worker process)."""

    files: tuple[Path, ...]
    fps: float
    out: Path


def encode_frames(task: EncodeTask) -> int:
    """Run an :class:`EncodeTask`; returns the number of frames encoded."""
    return encode_h264((rgb for _, rgb in iter_images(list(task.files))), task.out, task.fps)


def place_clip(ds: Dataset, clip: pd.Series | dict, dst: Path, *, link: bool, encode: list[EncodeTask]) -> str:
    """Put one clip's video at ``dst``: a video file is copied (or hard-linked with ``link``), a
    frame folder is queued on ``encode`` (run them with :func:`encode_all`). Returns the media kind."""
    kind, src = clip_media(ds, clip)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if kind == "video":
        place_file(src, dst, link=link)
    else:
        encode.append(EncodeTask(tuple(src), float(clip["fps"]), dst))
    return kind


def encode_all(tasks: list[EncodeTask], *, workers: int, progress: bool) -> None:
    """Encode frame clips in parallel.

    Raises:
        InputError: Naming the first clip that failed.
    """
    for outcome in run_tasks(encode_frames, tasks, workers=workers, desc="encoding", unit="clip", progress=progress):
        if not outcome.ok:
            raise InputError(f"cannot encode a frame clip: {outcome.error}", path=outcome.item.out)


@dataclass(frozen=True)
class ImagesTask:
    """Decode frames of a video file and write them as JPEG files, one per index (in a worker)."""

    video: Path
    indices: tuple[int, ...]
    outs: tuple[Path, ...]
    quality: int = 90


def write_images(task: ImagesTask) -> int:
    """Run an :class:`ImagesTask`; returns the number of images written.

    Raises:
        InputError: If the video has fewer decodable frames than the indices ask for.
    """
    import cv2

    n = 0
    for n, (_, rgb) in enumerate(iter_video(task.video, task.indices), start=1):
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, task.quality])
        if not ok:
            raise InputError(f"cannot encode frame {n - 1} as JPEG", path=task.video)
        task.outs[n - 1].write_bytes(data.tobytes())
    if n < len(task.outs):
        raise InputError(f"only {n} of {len(task.outs)} frames could be decoded", path=task.video)
    return n


def write_all_images(tasks: list[ImagesTask], *, workers: int, progress: bool) -> None:
    """Run :class:`ImagesTask` s in parallel; raises InputError naming the first failure."""
    for outcome in run_tasks(write_images, tasks, workers=workers, desc="decoding", unit="clip", progress=progress):
        if not outcome.ok:
            raise InputError(f"cannot write frames: {outcome.error}", path=outcome.item.video)


def pick_pose_source(poses: pd.DataFrame, layout: str = "blazepose33", wanted: str | None = None) -> pd.DataFrame:
    """A clip's pose rows of one layout and one source: ``wanted``, else the source with most frames."""
    poses = poses[poses["layout"] == layout]
    if wanted:
        return poses[poses["source"] == wanted]
    if poses.empty:
        return poses
    counts = poses.groupby("source").size()
    best = min(counts.index, key=lambda s: (-counts[s], s))
    return poses[poses["source"] == best]
