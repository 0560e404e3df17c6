"""Importer for pose-only repetition-counting corpora in the PoseRAC layout (Countix-Fitness-pose,
RepCount-pose, UCFRep-pose): pose sequences with their counts, and salient-pose training frames.

Layout (only the annotation files and pose arrays; the videos are not part of these releases)::

    <root>/annotation/<split>.csv        RepCount CSV ``,type,name,count,L1,L2,...`` per split
                                         (``test.csv``; ``valid.csv`` where a release has one):
                                         the count of every sequence, L pairs = repetition bounds
                                         where given (Countix-Fitness leaves them empty)
    <root>/<split>_poses/<stem>.npy      frames x 99 float32 = 33 BlazePose landmarks x (x, y, z),
                                         min-max normalised per frame and axis, all-zero rows
                                         where no person was found; no frame rate stored
    <root>/annotation_pose/train.csv     one row per salient-pose frame of a training video, no
                                         header: ``train/<exercise>/salient1|salient2/<video>/<k>.jpg,
                                         <exercise>,`` then 99 landmark values in image pixels
    <root>/annotation/pose_train.csv     per training video, the frame numbers of its salient
                                         poses (``,type,name,L1,L2,...``)

What it makes (corpus ``pose-counting``, ``media_kind`` ``poses``: the clip *is* its pose array):

* one clip per sequence with poses: ``video_id`` ``<split>/<stem>``, ``path``
  ``<split>_poses/<stem>.npy``, its poses (source ``corpus``, visibility NaN, all-zero rows stored
  with ``detected`` false), the count in ``extras.rep_count`` and, where the CSV gives frame pairs,
  ``repetition`` segments. The arrays carry no frame rate: ``fps`` is the nominal 30 and
  ``extras.fps_nominal`` says so; the coordinates are min-max normalised, so the "frame" is the unit
  square (``width`` = ``height`` = 1);
* one clip per training video with salient frames: ``video_id`` ``train/<exercise>/<video stem>``,
  ``path`` ``annotation_pose/train.csv``, one pose per salient image, normalised per frame and axis
  exactly as the test arrays are (so training and test poses share one space); frame i is the i-th
  salient image in image-number order. The image number ``<k>`` is not a frame number (the real
  file numbers salient1 and salient2 images separately and sometimes jointly), so it is only kept,
  with its folder, in ``extras.salient_images``; ``extras.sequence`` false says the frames are
  isolated poses, not a time sequence (trainers must not smooth across them). Each frame is a
  one-frame ``state`` segment, ``R`` for ``salient1`` (the pose a repetition starts from) and ``A``
  for ``salient2`` (its middle pose). ``extras.salient_frames`` holds the video frame numbers of ``pose_train.csv`` when its row
  is found (its names drop the zero padding: ``squat12.mp4`` for ``squat012.mp4``; *uncertain*).

Reported and skipped (the import goes on): empty ``.npy`` files (shape ``(0,)``: some files of the
public release are), count rows without a pose array (Countix-Fitness lists the counts of test
sequences whose poses it does not ship).
Errors (one line, nothing written): a truncated or unreadable ``.npy``, an array that is not frames x
99, a ``train.csv`` row that is not path, exercise and 99 numbers, a count that is not a number.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path

import click
import numpy as np

from gymdata import vocab
from gymdata.errors import InputError
from gymdata.importing import ImportReport, check_root, import_options, run_import
from gymdata.pose import poses_table
from gymdata.store import Transaction, now
from importers.repcount import read_csv_rows, read_repcount_csv

CORPUS = "pose-counting"
VERSION = "1"
#: Nominal frame rate: the arrays carry none (Countix and RepCount videos are mostly 25-30 fps).
FPS = 30.0
_HINT = "pass the folder holding annotation/test.csv and test_poses/ (PoseRAC layout)"
_SALIENT = {"salient1": "R", "salient2": "A"}
_IMAGE = re.compile(r"^train/([^/]+)/(salient[12])/([^/]+)/(\d+)\.(?:jpg|jpeg|png)$", re.IGNORECASE)


def exercise_of(raw: str) -> str:
    """The vocabulary's name for a corpus exercise name (``other`` if unknown)."""
    return vocab.lookup(raw) or "other"


def minmax(xyz: np.ndarray) -> np.ndarray:
    """Min-max normalise ``(N, 33, 3)`` poses per frame and axis, as the PoseRAC test arrays are."""
    lo, hi = xyz.min(axis=1, keepdims=True), xyz.max(axis=1, keepdims=True)
    return ((xyz - lo) / np.maximum(hi - lo, 1e-9)).astype(np.float32)


def read_pose_array(path: Path) -> np.ndarray | None:
    """A sequence's poses as ``(T, 33, 3)`` float32, or None for an empty file (shape ``(0,)``).

    Raises:
        InputError: If the file is truncated or not a frames x 99 array.
    """
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"cannot read pose array ({exc})", path=path,
                         hint="the file is truncated or damaged: copy it again, or delete it to import the rest"
                         ) from None
    if arr.size == 0:
        return None
    if arr.ndim != 2 or arr.shape[1] != 99 or not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"pose array has shape {arr.shape}, expected frames x 99 (33 landmarks x (x, y, z))",
                         path=path)
    arr = arr.astype(np.float32).reshape(-1, 33, 3)
    if not np.isfinite(arr).all():
        raise InputError("pose array holds non-finite values", path=path)
    return arr


def read_salient(path: Path) -> list[tuple[str, str, str, int, np.ndarray, int]]:
    """Rows of ``annotation_pose/train.csv``: (exercise, salient1|2, video, image number, (33, 3)
    pixel landmarks, line).

    Raises:
        InputError: On a row that is not an image path, an exercise and 99 numbers.
    """
    out = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            for line, row in enumerate(csv.reader(fh), start=1):
                if not any(c.strip() for c in row):
                    continue
                m = _IMAGE.match(row[0].strip())
                values = [c.strip() for c in row[2:]]
                while values and not values[-1]:  # the real file ends some rows with a comma
                    values.pop()
                if not m or len(row) < 2 or len(values) != 99:
                    raise InputError(f"line {line}: expected 'train/<exercise>/salient1|salient2/<video>/<k>.jpg,"
                                     f"<exercise>,' and 99 numbers, got {len(values)} values", path=path)
                if not all(values):
                    raise InputError(f"line {line}: a landmark value is empty", path=path)
                try:
                    xyz = np.asarray(values, np.float64).reshape(33, 3)
                except ValueError:
                    raise InputError(f"line {line}: a landmark value is not a number", path=path) from None
                out.append((row[1].strip() or m.group(1), m.group(2).lower(), m.group(3), int(m.group(4)), xyz, line))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read CSV: {exc}", path=path) from None
    return out


def _video_key(name: str) -> str:
    """``squat012.mp4`` and ``squat12.mp4`` -> ``squat12`` (pose_train.csv drops the zero padding)."""
    stem = Path(name).stem
    m = re.match(r"^(.*?)(\d+)$", stem)
    return f"{m.group(1)}{int(m.group(2))}" if m else stem


def read_salient_frames(path: Path) -> dict[str, list[int]]:
    """``annotation/pose_train.csv``: video key -> frame numbers of its salient poses."""
    out: dict[str, list[int]] = {}
    rows = read_csv_rows(path)
    header = [h.strip() for h in rows[0]] if rows else []
    if "name" not in header:
        raise InputError("no 'name' column", path=path, hint="expected the header ',type,name,L1,L2,...'")
    name_col = header.index("name")
    l_cols = [i for i, h in enumerate(header) if re.fullmatch(r"L\d+", h)]
    for line, row in enumerate(rows[1:], start=2):
        if len(row) <= name_col or not row[name_col].strip():
            continue
        frames = []
        for i in l_cols:
            cell = row[i].strip() if i < len(row) else ""
            if cell:
                try:
                    frames.append(int(float(cell)))
                except ValueError:
                    raise InputError(f"line {line}: frame {cell!r} is not a number", path=path) from None
        out[_video_key(row[name_col].strip())] = frames
    return out


def _split_files(root: Path) -> list[tuple[str, Path, Path]]:
    """(split, count CSV, pose folder) for every ``annotation/<split>.csv`` with a ``<split>_poses``."""
    found = []
    for csv_path in sorted((root / "annotation").glob("*.csv")):
        split = csv_path.stem
        if split.startswith("pose_"):
            continue
        folder = root / f"{split}_poses"
        if folder.is_dir():
            found.append((split, csv_path, folder))
    return found


def _split_name(split: str) -> str:
    return {"valid": "val", "validation": "val"}.get(split, split)


def import_pose_counting(root: str | Path, name: str, *, force: bool = False) -> tuple[ImportReport, list[str]]:
    """Import a pose-only counting corpus as a new dataset (see the module docstring).

    Returns:
        The report and note lines (what was skipped and why, in short).

    Raises:
        InputError: See the module docstring.
    """
    root = check_root(root, corpus=CORPUS, hint=_HINT)
    splits = _split_files(root)
    salient_csv = root / "annotation_pose" / "train.csv"
    frames_csv = root / "annotation" / "pose_train.csv"
    if not splits and not salient_csv.is_file():
        raise InputError("no annotation/<split>.csv with a <split>_poses/ folder, and no annotation_pose/train.csv",
                         path=root, hint=_HINT)
    inputs = [p for _, c, f in splits for p in [c, *sorted(f.glob("*.npy"))]]
    inputs += [p for p in (salient_csv, frames_csv) if p.is_file()]
    notes: list[str] = []

    def build(txn: Transaction, report: ImportReport) -> None:
        stamp = now()
        videos, pose_ids, pose_arrays, segments = [], [], [], []
        no_poses: list[str] = []
        for split, csv_path, folder in splits:
            tag = f"{CORPUS}:annotation/{csv_path.name}"
            for entry in read_repcount_csv(csv_path):
                stem = Path(entry.name).stem
                npy = folder / f"{stem}.npy"
                if not npy.is_file():
                    no_poses.append(f"{split}/{stem}")
                    continue
                arr = read_pose_array(npy)
                if arr is None:
                    report.skipped.append((str(npy), f"{npy}: empty pose array (shape (0,)), skipped"))
                    continue
                vid = f"{split}/{stem}"
                raw = entry.type or re.sub(r"\d+$", "", stem)
                extras = {"fps_nominal": True, "coordinates": "min-max normalised per frame and axis"}
                if entry.count is not None:
                    extras["rep_count"] = entry.count
                videos.append({"video_id": vid, "corpus": CORPUS, "path": npy.relative_to(root).as_posix(),
                               "media_kind": "poses", "exercise": exercise_of(raw), "exercise_raw": raw,
                               "recording": vid, "fps": FPS, "num_frames": len(arr), "width": 1, "height": 1,
                               "duration": len(arr) / FPS, "split": _split_name(split), "extras": json.dumps(extras)})
                pose_ids.append(vid)
                pose_arrays.append(arr)
                last = len(arr) - 1
                for start, end in entry.reps:
                    if start > last:
                        raise InputError(f"{entry.where}: a repetition starts at frame {start}, after the last pose "
                                         f"({last}) of {npy.name}", path=csv_path)
                    segments.append({"video_id": vid, "kind": "repetition", "label": "rep", "start_frame": start,
                                     "end_frame": min(end, last), "origin": "imported", "annotator": tag,
                                     "created_at": stamp})
        if no_poses:
            shown = ", ".join(no_poses[:4]) + (", ..." if len(no_poses) > 4 else "")
            notes.append(f"note: {len(no_poses)} count row(s) without a pose array skipped ({shown})")
        if salient_csv.is_file():
            known = read_salient_frames(frames_csv) if frames_csv.is_file() else {}
            by_video: dict[tuple[str, str], list[tuple[int, str, np.ndarray]]] = defaultdict(list)
            for raw, salient, video, k, xyz, _line in read_salient(salient_csv):
                by_video[(raw, video)].append((k, salient, xyz))
            tag = f"{CORPUS}:annotation_pose/train.csv"
            for (raw, video), images in sorted(by_video.items()):
                vid = f"train/{raw}/{Path(video).stem}"
                images.sort(key=lambda im: (im[0], im[1]))  # image number, salient1 before salient2
                given = known.get(_video_key(video))
                extras = {"fps_nominal": True, "coordinates": "min-max normalised per frame and axis (from pixels)",
                          "sequence": False, "salient_images": [f"{sal}/{k}" for k, sal, _ in images],
                          "states": "R = salient1, A = salient2; frame i = the i-th salient image"}
                if given is not None:
                    extras["salient_frames"] = given
                n = len(images)
                videos.append({"video_id": vid, "corpus": CORPUS, "path": salient_csv.relative_to(root).as_posix(),
                               "media_kind": "poses", "exercise": exercise_of(raw), "exercise_raw": raw,
                               "recording": vid, "fps": FPS, "num_frames": n, "width": 1, "height": 1,
                               "duration": n / FPS, "split": "train", "extras": json.dumps(extras)})
                pose_ids.append(vid)
                pose_arrays.append(minmax(np.stack([xyz for _, _, xyz in images])))
                segments += [{"video_id": vid, "kind": "state", "label": _SALIENT[sal], "start_frame": i,
                              "end_frame": i, "origin": "imported", "annotator": tag, "created_at": stamp}
                             for i, (_, sal, _) in enumerate(images)]
        if not videos:
            raise InputError("no pose sequence and no salient frame to import", path=root, hint=_HINT)
        txn.write("videos", videos)
        txn.write("poses", poses_table(pose_ids, pose_arrays, "corpus"))
        if segments:
            txn.write("segments", segments)

    report = run_import(name=name, corpus=CORPUS, root=root, importer=CORPUS, version=VERSION, inputs=inputs,
                        options={}, force=force, build=build)
    return report, notes


@click.command(CORPUS)
@click.argument("root", type=click.Path(path_type=Path))
@import_options
def command(root: Path, name: str, force: bool, workers: int, quiet: bool) -> None:
    """Pose-only counting corpus, PoseRAC layout (Countix-Fitness-pose, RepCount-pose, UCFRep-pose).

    (-j and --quiet are accepted for uniformity; this import reads no video.)
    """
    report, notes = import_pose_counting(root, name, force=force)
    report.echo()
    for line in notes:
        click.echo(line, err=True)
