"""Importer for ALEX-GYM-1 (squat, single-leg Romanian deadlift and lunges; frontal and lateral views).

Layout read (that of the public release, AhmedYasserrr/ALEX-GYM-1)::

    <root>/squat.xlsx  deadlift.xlsx  lunges.xlsx         one row per repetition
    <root>/front_pose_<sheet>.json  lat_pose_<sheet>.json   per row: 16 x 33 x (x, y, z), aligned by row
    <root>/<Sheet>_frames/{video}_idx_{NumIdx}_{i}.jpg     i = 1..16; the folder is spelled
                                                          Squat_frames, Squat_Frames, squat_Frames, ...
    <root>/subjects.csv                                   optional: Num Video Frontal,Num Video Lateral,subject

Any ``*.xlsx`` whose name is an exercise of the vocabulary is read; its pose files and frame folder
must exist. Every spreadsheet row gives two clips, one per view: ``video_id``
``<sheet>/<video>_idx_<NumIdx>/<view>`` (the frontal clip uses ``Num Video Frontal``, the lateral one
``Num Video Lateral``), ``path`` a glob pattern such as ``Squat_frames/7_idx_0_*.jpg``,
``recording`` ``<sheet>/<frontal>-<lateral>`` (the video-number pair: one take seen from both
views), ``rep_index`` = ``NumIdx``. The frame rate is not published: 30 fps is assumed and said in
``extras.fps_assumed``. ``extras`` also keeps the other view's clip (``pair``), the spreadsheet row,
and every column that is neither a criterion nor a score (``Action``, ``class``, ``rating``, ...).

Labels:
    * criteria: the columns whose name ends in ``F`` or ``L`` after a non-letter (``Feet Out 30 F``,
      ``... (0.5 point)F``; non-breaking spaces are treated as spaces when detecting), one row per
      repetition and criterion on the clip of the view it is judged from, ``criterion`` = the column
      name as written (stripped), ``value`` = the points, ``passed`` = value >= 0.5 (null if blank);
    * scores: ``Score: Frontal( - / 1)`` -> ``frontal`` on the frontal clip, ``Score: Lateral ( - / 5)``
      -> ``lateral`` on the lateral clip, ``Total Score - /6`` -> ``total`` on both, the scale
      maximum parsed from the name;
    * poses: the JSON landmarks, layout ``blazepose33``, source ``corpus``, visibility NaN (not
      given), frames whose 33 x 3 values are all zero stored with ``detected`` false.

No split is set: the authors' split is a random split over rows that puts repetitions of one
recording on both sides (use ``gymdata split`` for a recording- and subject-disjoint one).

Errors (one line each, nothing written): missing/empty root, no spreadsheet, a missing pose file or
frame folder, a spreadsheet missing a required column, truncated or malformed pose JSON, row and
entry counts that do not line up (both counts named), a missing frame file, a pose entry with more
frames than the clip has images, and values outside a score's scale.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from gymdata import vocab
from gymdata.errors import InputError
from gymdata.importing import ImportReport, check_root, import_options, run_import
from gymdata.media import probe_frames
from gymdata.pose import poses_table
from gymdata.store import Transaction, now

CORPUS = "alex-gym-1"
VERSION = "1"
FPS = 30.0  # not published by the corpus
REQUIRED = ("Num Video Frontal", "Num Video Lateral", "NumIdx")
VIEWS = {"F": "frontal", "L": "lateral"}
_CRITERION = re.compile(r"(?:^|[^A-Za-z])([FL])$")
_SCALE = re.compile(r"/\s*(\d+(?:\.\d+)?)\s*\)?\s*$")
_FRAME = re.compile(r"^(\d+)_idx_(\d+)_(\d+)\.(jpe?g|png)$", re.IGNORECASE)
_HINT = "pass the folder holding squat.xlsx, front_pose_squat.json, Squat_frames/, ..."


def _norm(name: object) -> str:
    """A column name with non-breaking spaces and runs of spaces collapsed, for matching only."""
    return " ".join(str(name).replace("\xa0", " ").split())


@dataclass
class Sheet:
    """One exercise: its spreadsheet, pose files, frame folder and column roles."""

    name: str  # file stem: squat, deadlift, lunges
    exercise: str
    xlsx: Path
    front: Path
    lateral: Path
    frames: Path
    rows: list[dict]
    required: dict[str, str]  # required column -> column as written
    criteria: list[tuple[str, str]]  # (column, view)
    scores: list[tuple[str, str, float]]  # (column, score name, scale max)
    others: list[str]


def find_sheets(root: Path) -> list[Sheet]:
    """The exercises present under ``root``, with their files checked and columns classified.

    Raises:
        InputError: If no spreadsheet is found, or a pose file, frame folder or column is missing.
    """
    sheets = []
    folders = [p for p in root.iterdir() if p.is_dir()]
    for xlsx in sorted(root.glob("*.xlsx")):
        if xlsx.name.startswith(("~$", ".")):  # Excel lock files
            continue
        exercise = vocab.lookup(xlsx.stem)
        if exercise is None:
            continue
        front, lateral = root / f"front_pose_{xlsx.stem}.json", root / f"lat_pose_{xlsx.stem}.json"
        for path in (front, lateral):
            if not path.is_file():
                raise InputError("pose file not found", path=path, hint=f"every {xlsx.name} needs it, named exactly so")
        matches = [f for f in folders if f.name.lower().endswith("_frames")
                   and vocab.lookup(f.name[: -len("_frames")]) == exercise]
        if len(matches) != 1:
            found = sorted(m.name for m in matches)
            why = f"several frame folders: {found}" if matches else "frame folder not found"
            raise InputError(why, path=root / f"{xlsx.stem.capitalize()}_frames",
                             hint=f"expected one folder <{xlsx.stem}>_frames (any capitalisation)")
        rows, columns = read_sheet(xlsx)
        sheets.append(_classify(xlsx, exercise, front, lateral, matches[0], rows, columns))
    if not sheets:
        raise InputError("no ALEX-GYM-1 spreadsheet found (squat.xlsx, deadlift.xlsx, lunges.xlsx)", path=root,
                         hint=_HINT)
    return sheets


def read_sheet(path: Path) -> tuple[list[dict], list[str]]:
    """Rows (as dicts keyed by the columns as written) and the columns of a spreadsheet's first sheet.

    Rows are kept exactly as pandas reads them (the authors' loader aligns the pose lists with them).
    """
    import pandas as pd

    try:
        df = pd.read_excel(path, sheet_name=0, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types on a damaged workbook
        raise InputError(f"cannot read spreadsheet: {exc}", path=path, hint="open and re-save it as .xlsx") from None
    df = df.astype(object).where(df.notna(), None)
    columns = [str(c) for c in df.columns]
    return [dict(zip(columns, values)) for values in df.itertuples(index=False, name=None)], columns


def _classify(xlsx: Path, exercise: str, front: Path, lateral: Path, frames: Path, rows: list[dict],
              columns: list[str]) -> Sheet:
    by_norm = {_norm(c).lower(): c for c in columns}
    required = {}
    for col in REQUIRED:
        if col.lower() not in by_norm:
            raise InputError(f"column {col!r} is missing (columns: {', '.join(map(_norm, columns))})", path=xlsx,
                             hint="the sheet must keep the corpus's header row")
        required[col] = by_norm[col.lower()]
    criteria, scores, others = [], [], []
    for col in columns:
        norm = _norm(col)
        if col in required.values() or norm.lower().startswith("unnamed:"):
            continue
        scale = _SCALE.search(norm) if "score" in norm.lower() else None
        kind = next((k for k in ("total", "frontal", "lateral") if k in norm.lower()), None)
        if scale and kind:
            scores.append((col, kind, float(scale.group(1))))
        elif (m := _CRITERION.search(norm)) is not None:
            criteria.append((col, VIEWS[m.group(1)]))
        else:
            others.append(col)
    return Sheet(xlsx.stem, exercise, xlsx, front, lateral, frames, rows, required, criteria, scores, others)


def read_pose_json(path: Path) -> list[np.ndarray]:
    """A pose list: one float32 array (frames, 33, 3) per entry.

    Raises:
        InputError: If the file is not valid JSON (e.g. truncated) or an entry is not frames x 33 x 3.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})", path=path,
                         hint="the file is truncated or damaged: copy it again") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", path=path) from None
    if not isinstance(data, list):
        raise InputError("expected a JSON list with one entry per spreadsheet row", path=path)
    try:  # fast path: every entry has the same shape
        stacked = np.asarray(data, dtype=np.float32)
        if stacked.ndim == 4 and stacked.shape[2:] == (33, 3):
            return list(stacked)
    except (ValueError, TypeError):
        pass
    entries = []
    for i, entry in enumerate(data):
        try:
            arr = np.asarray(entry, dtype=np.float32)
        except (ValueError, TypeError):
            arr = None
        if arr is None or arr.ndim != 3 or arr.shape[1:] != (33, 3):
            shape = "ragged" if arr is None else "x".join(map(str, arr.shape))
            raise InputError(f"entry {i} has shape {shape}, expected frames x 33 x 3", path=path)
        entries.append(arr)
    return entries


def read_subjects(path: Path) -> dict[tuple[int, int], str]:
    """The optional ``subjects.csv``: (frontal video, lateral video) -> subject."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read CSV: {exc}", path=path) from None
    out = {}
    for line, row in enumerate(rows, start=2):
        try:
            key = (int(float(row["Num Video Frontal"])), int(float(row["Num Video Lateral"])))
            subject = row["subject"].strip()
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError(f"line {line}: expected Num Video Frontal,Num Video Lateral,subject", path=path) from None
        if out.get(key, subject) != subject:
            raise InputError(f"line {line}: videos {key} already belong to subject {out[key]!r}", path=path)
        out[key] = subject
    return out


def _int(value: object, column: str, sheet: Sheet, row: int) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not number.is_integer():
        raise InputError(f"row {row}: {column!r} is {value!r}, not a whole number", path=sheet.xlsx)
    return int(number)


def _number(value: object, column: str, sheet: Sheet, row: int) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"row {row}: {_norm(column)!r} is {value!r}, not a number", path=sheet.xlsx) from None


def _plain(value: object) -> object:
    """A JSON-friendly copy of a cell value."""
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def index_frames(folder: Path) -> dict[tuple[int, int], dict[int, str]]:
    """Frame files of a folder: (video, NumIdx) -> {i: file name}."""
    index: dict[tuple[int, int], dict[int, str]] = {}
    for entry in os.scandir(folder):
        m = _FRAME.match(entry.name)
        if m:
            index.setdefault((int(m.group(1)), int(m.group(2))), {})[int(m.group(3))] = entry.name
    return index


def import_alexgym(root: str | Path, name: str, *, force: bool = False) -> ImportReport:
    """Import ALEX-GYM-1 (see the module docstring).

    Args:
        root: Corpus root.
        name: Dataset to create.
        force: Re-import even if up to date.

    Returns:
        What the import did.

    Raises:
        InputError: See the module docstring.
    """
    root = check_root(root, corpus="ALEX-GYM-1", hint=_HINT)
    sheets = find_sheets(root)
    subjects_csv = root / "subjects.csv"
    subjects = read_subjects(subjects_csv) if subjects_csv.is_file() else {}
    inputs = [p for s in sheets for p in (s.xlsx, s.front, s.lateral)] + ([subjects_csv] if subjects else [])
    frame_index = {s.name: index_frames(s.frames) for s in sheets}
    inputs += [s.frames / n for s in sheets for files in frame_index[s.name].values() for n in files.values()]

    def build(txn: Transaction, report: ImportReport) -> None:
        videos, criteria, scores = [], [], []
        pose_ids, pose_arrays = [], []
        stamp = now()
        label = {"origin": "imported", "annotator": f"{CORPUS}:{VERSION}", "created_at": stamp}
        for sheet in sheets:
            poses = {"frontal": read_pose_json(sheet.front), "lateral": read_pose_json(sheet.lateral)}
            for view, entries in poses.items():
                if len(entries) != len(sheet.rows):
                    path = sheet.front if view == "frontal" else sheet.lateral
                    raise InputError(f"{sheet.xlsx.name} has {len(sheet.rows)} rows but {path.name} has "
                                     f"{len(entries)} entries", path=path,
                                     hint="the pose list must have one entry per spreadsheet row, in order")
            frames = frame_index[sheet.name]
            for r, row in enumerate(sheet.rows):
                excel_row = r + 2  # header is row 1
                vf, vl, idx = (_int(row[sheet.required[c]], c, sheet, excel_row) for c in REQUIRED)
                ids = {v: f"{sheet.name}/{num}_idx_{idx}/{v}" for v, num in (("frontal", vf), ("lateral", vl))}
                action = next((row[c] for c in sheet.others if _norm(c).lower() == "action"), None)
                raw_name = str(action).strip() if action is not None else sheet.name
                extras_common = {"fps_assumed": True, "spreadsheet": sheet.xlsx.name, "spreadsheet_row": excel_row,
                                 **{_norm(c): _plain(row[c]) for c in sheet.others}}
                for view, num in (("frontal", vf), ("lateral", vl)):
                    files = frames.get((num, idx), {})
                    if not files:
                        raise InputError(f"no frames for video {num} repetition {idx} ({view}, row {excel_row})",
                                         path=sheet.frames / f"{num}_idx_{idx}_1.jpg",
                                         hint="the frame folder lacks this repetition's images")
                    missing = next((i for i in range(1, max(files) + 1) if i not in files), None)
                    if missing is not None:
                        raise InputError("frame file missing", path=sheet.frames / f"{num}_idx_{idx}_{missing}.jpg",
                                         hint="the frame folder is incomplete: copy it again")
                    entry = poses[view][r]
                    if len(entry) > len(files):
                        raise InputError(f"row {excel_row}: {view} pose entry has {len(entry)} frames but the clip "
                                         f"has {len(files)} images", path=sheet.front if view == "frontal"
                                         else sheet.lateral)
                    ext = Path(files[1]).suffix
                    info = probe_frames([sheet.frames / files[i] for i in sorted(files)], fps=FPS)
                    other = "lateral" if view == "frontal" else "frontal"
                    videos.append({
                        "video_id": ids[view], "corpus": CORPUS,
                        "path": f"{sheet.frames.name}/{num}_idx_{idx}_*{ext}", "media_kind": "frames",
                        "exercise": sheet.exercise, "exercise_raw": raw_name,
                        "subject": subjects.get((vf, vl)), "recording": f"{sheet.name}/{vf}-{vl}", "view": view,
                        "rep_index": idx, "fps": FPS, "num_frames": info.num_frames, "width": info.width,
                        "height": info.height, "duration": info.duration, "split": None,
                        "extras": json.dumps({**extras_common, "video": num, "pair": ids[other]}, ensure_ascii=False),
                    })
                    pose_ids.append(ids[view])
                    pose_arrays.append(entry)
                for col, view in sheet.criteria:
                    value = _number(row[col], col, sheet, excel_row)
                    criteria.append({"video_id": ids[view], "criterion": str(col).strip(), "view": view,
                                     "value": value, "passed": None if value is None else value >= 0.5, **label})
                for col, kind, top in sheet.scores:
                    value = _number(row[col], col, sheet, excel_row)
                    if value is None:
                        continue
                    if not 0 <= value <= top:
                        raise InputError(f"row {excel_row}: {_norm(col)!r} is {value:g}, outside 0-{top:g}",
                                         path=sheet.xlsx, hint="fix the cell or the scale in the column name")
                    for view in (("frontal", "lateral") if kind == "total" else (kind,)):
                        scores.append({"video_id": ids[view], "name": kind, "value": value, "scale_min": 0.0,
                                       "scale_max": top, **label})
        txn.write("videos", videos)
        txn.write("criteria", criteria)
        txn.write("scores", scores)
        txn.write("poses", poses_table(pose_ids, pose_arrays, "corpus"))

    return run_import(name=name, corpus=CORPUS, root=root, importer="alex-gym-1", version=VERSION, inputs=inputs,
                      options={}, force=force, build=build)


@click.command("alex-gym-1")
@click.argument("root", type=click.Path(path_type=Path))
@import_options
def command(root: Path, name: str, force: bool, workers: int, quiet: bool) -> None:
    """Import ALEX-GYM-1: spreadsheets, frontal/lateral poses and frame folders.

    (-j and --quiet are accepted for uniformity; this import decodes no video.)
    """
    import_alexgym(root, name, force=force).echo()
