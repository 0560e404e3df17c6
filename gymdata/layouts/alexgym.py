"""The ALEX-GYM-1 file layout: names, headers and writers (read by :mod:`importers.alexgym`).

Written by the sample generator (:mod:`gymdata.sample`), the ``alex-gym-1`` exporter
(:mod:`exporters.alexgym`) and the tests' fake corpus (``tests/fakes/alexgym.py``)::

    <root>/<sheet>.xlsx                         one row per repetition (:func:`write_sheet`), header
                                                from :func:`sheet_columns`
    <root>/front_pose_<sheet>.json              per row: frames x 33 x (x, y, z); no detection = zeros
    <root>/lat_pose_<sheet>.json                (:func:`pose_file`, :func:`write_poses`)
    <root>/<Sheet>_frames/{video}_idx_{NumIdx}_{i}.jpg   i = 1..16 (:func:`frames_folder`, :func:`frame_name`)
    <root>/subjects.csv                         Num Video Frontal,Num Video Lateral,subject (:func:`write_subjects`)

The release's own spellings are kept (:data:`RELEASE`): sheets ``squat``/``deadlift``/``lunges``,
``Action`` ``Squat``/``Deadlift``/``lunges``, frame folders ``Squat_frames``, ``Deadlift_Frames``,
``lunges_Frames``, ``class`` 1/0/2. Every writer is byte-stable: the same rows give the same bytes.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import math
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ID_COLUMNS = ("Num Video Frontal", "Num Video Lateral", "NumIdx")
SUBJECTS_FILE = "subjects.csv"
SUBJECTS_HEADER = ("Num Video Frontal", "Num Video Lateral", "subject")
#: Frames per repetition and view in the release.
FRAMES_PER_REP = 16
#: Repetitions per recording in the release (``NumIdx`` 0..4).
MAX_REPS = 5
#: Score columns; the scale maximum is part of the name.
SCORE_COLUMNS = {"frontal": "Score: Frontal( - / {:g})", "lateral": "Score: Lateral ( - / {:g})",
                 "total": "Total Score - /{:g}"}
_POSE_PREFIX = {"frontal": "front_pose", "lateral": "lat_pose"}
# 1980-01-01 is the earliest date a zip entry can hold; any fixed value makes the bytes stable.
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_FIXED_DOC_TIME = datetime.datetime(2024, 1, 1)


@dataclass(frozen=True)
class Names:
    """How the release names one exercise."""

    sheet: str  # spreadsheet and pose-file stem
    action: str  # value of the Action column
    frames: str  # frame folder, spelled as in the release
    cls: int  # value of the class column


#: The release's names per exercise (gymdata's vocabulary name -> names), quirks included.
RELEASE: dict[str, Names] = {
    "squat": Names("squat", "Squat", "Squat_frames", 1),
    "deadlift": Names("deadlift", "Deadlift", "Deadlift_Frames", 0),
    "lunge": Names("lunges", "lunges", "lunges_Frames", 2),
}
_BY_SHEET = {n.sheet: n for n in RELEASE.values()}


def frames_folder(sheet: str) -> str:
    """The frame folder of a sheet: the release's spelling, else ``<Sheet>_frames``."""
    return _BY_SHEET[sheet].frames if sheet in _BY_SHEET else f"{sheet.capitalize()}_frames"


def frame_name(video: int, num_idx: int, i: int, suffix: str = ".jpg") -> str:
    """The file name of frame ``i`` (1-based) of repetition ``num_idx`` of video ``video``."""
    return f"{video}_idx_{num_idx}_{i}{suffix}"


def pose_file(sheet: str, view: str) -> str:
    """``front_pose_<sheet>.json`` or ``lat_pose_<sheet>.json``."""
    return f"{_POSE_PREFIX[view]}_{sheet}.json"


def cell(value) -> int | float | None:
    """A number as the release stores it: whole numbers as int, others as float, blank as None."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    return int(value) if value.is_integer() else value


def sheet_columns(frontal: Sequence[str], lateral: Sequence[str], scales: Mapping[str, float], *,
                  head: Sequence[str] = ("Action",), tail: Sequence[str] = ("class", "rating")) -> list[str]:
    """A sheet's header in the release's order: ids, ``head``, frontal criteria, frontal score,
    lateral criteria, lateral and total scores, ``tail``.

    Args:
        frontal: Frontal criterion columns (their names end in ``F``).
        lateral: Lateral criterion columns (ending in ``L``).
        scales: Scale maximum per score name (``frontal``, ``lateral``, ``total``); a missing name
            has no column.
        head: Columns between the ids and the criteria.
        tail: Columns after the scores.
    """
    def score(name: str) -> list[str]:
        return [SCORE_COLUMNS[name].format(float(scales[name]))] if name in scales else []

    return [*ID_COLUMNS, *head, *frontal, *score("frontal"), *lateral, *score("lateral"), *score("total"), *tail]


def write_sheet(path: str | Path, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Write one spreadsheet (sheet ``Sheet1``), its bytes depending on the content only.

    openpyxl stamps ``docProps/core.xml`` with the save time and each zip entry with "now"; both are
    set to fixed values, so writing the same rows twice gives the same file.
    """
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(list(columns))
    for row in rows:
        ws.append(list(row))
    wb.properties.creator = "gymdata"
    wb.properties.created = wb.properties.modified = _FIXED_DOC_TIME
    raw = io.BytesIO()
    wb.save(raw)
    stamp = _FIXED_DOC_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME), data,
                         compress_type=zipfile.ZIP_DEFLATED)


def write_poses(path: str | Path, entries: Sequence) -> None:
    """Write a pose file: one entry per sheet row, each frames x 33 x (x, y, z) nested lists or arrays."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump([e.tolist() if hasattr(e, "tolist") else e for e in entries], fh, ensure_ascii=False,
                  separators=(",", ":"))


def write_subjects(path: str | Path, rows: Iterable[Sequence]) -> None:
    """Write ``subjects.csv``: (frontal video, lateral video, subject) rows, duplicates written once."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(SUBJECTS_HEADER)
        writer.writerows(dict.fromkeys(tuple(r) for r in rows))
