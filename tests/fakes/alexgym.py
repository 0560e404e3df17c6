"""A fake ALEX-GYM-1: spreadsheets, pose JSON lists and frame folders with the release's names.

Faithful where an importer can tell: the spreadsheet names and exact squat header (criterion
columns ending in ``F``/``L``, ``Score: Frontal( - / 1)``, ``Score: Lateral ( - / 5)``,
``Total Score - /6``, ``class``, ``rating``), the deadlift and lunge criterion names used by
third-party code (with their non-breaking spaces and the ``(0.5 point)F`` spelling), ``Action``
spelled ``Squat``/``Deadlift``/``lunges``, one row per repetition with ``NumIdx`` 0..4 and the
(odd frontal, even lateral) video-number pairs, the inconsistently spelled frame folders
(``Squat_frames``, ``Deadlift_Frames``, ``lunges_Frames``) holding ``{video}_idx_{NumIdx}_{i}.jpg``
for i = 1..16, and ``front_pose_*.json``/``lat_pose_*.json`` lists aligned with the rows, each entry
16 x 33 x 3 with some all-zero (undetected) frames.

What is faked (rows, names, quirks) is decided here; the files are written by the one writer of the
layout, :mod:`gymdata.layouts.alexgym`, which the sample generator and the exporter use too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gymdata.layouts import alexgym as layout

NBSP = "\xa0"
FRAMES = layout.FRAMES_PER_REP


@dataclass(frozen=True)
class Exercise:
    sheet: str  # file stem
    action: str  # value of the Action column
    folder: str  # frame folder as spelled in the release
    cls: int
    columns: list[str]  # header, in order
    criteria: dict[str, tuple[str, float]] = field(default_factory=dict)  # column -> (view, points)


def _exercise(sheet: str, action: str, folder: str, cls: int, crit: list[tuple[str, float]]) -> Exercise:
    """Header: ids, Action, frontal criteria, frontal score, lateral criteria, lateral and total scores."""
    view = {c: ("frontal" if c.rstrip().endswith("F") else "lateral") for c, _ in crit}
    front = [c for c, _ in crit if view[c] == "frontal"]
    lat = [c for c, _ in crit if view[c] == "lateral"]
    pf = sum(p for c, p in crit if view[c] == "frontal")
    pl = sum(p for c, p in crit if view[c] == "lateral")
    columns = layout.sheet_columns(front, lat, {"frontal": pf, "lateral": pl, "total": pf + pl})
    return Exercise(sheet, action, folder, cls, columns, {c: (view[c], p) for c, p in crit})


EXERCISES = {
    "squat": _exercise("squat", "Squat", "Squat_frames", 1, [
        ("Feet Out 30 F", 1), ("Whole Feet Flat On the Floor (1) L", 1),
        ("Bend Hips and Knees Simultaniously (1) L", 1), ("Hips backwards (1) L", 1),
        ("Lower back neural (1) L", 1), ("Hips are lower than knees level (1 point) L", 1)]),
    "deadlift": _exercise("deadlift", "Deadlift", "Deadlift_Frames", 0, [
        (f"Balance{NBSP}(0.5 point) F", 0.5), ("Straight back (0.5) L", 0.5),
        ("Full back leg extended (0.5 point) L", 0.5), ("Slow reverse movement (0.5 point) L", 0.5),
        (f"Support knee bend 15-20°{NBSP}(0.5 point){NBSP}L", 0.5)]),
    "lunges": _exercise("lunges", "lunges", "lunges_Frames", 2, [
        ("Heels shoulder width apart (0.5 point) F", 0.5), ("Head looking forward (0.5 point)F", 0.5),
        ("Bend knees slowly 90° (0.5 point) L", 0.5), ("Swinging arms (0.5 point) F", 0.5),
        ("Front foot is parallel with the back foot, not on one line with the back foot (0.5 point) F", 0.5),
        ("Straight back (0.5 point) L", 0.5), ("Back knee is just above the floor (0.5 point) L", 0.5)]),
}


def _jpeg(width: int, height: int, shade: int) -> bytes:
    import cv2

    img = np.full((height, width, 3), shade, np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return buf.tobytes()


def write_alexgym(root: Path, *, exercises: tuple[str, ...] = ("squat", "deadlift", "lunges"),
                  recordings: int = 2, reps: int = 2, subjects: bool = True, seed: int = 0,
                  zero_frames: int = 3) -> dict:
    """Write a fake ALEX-GYM-1 under ``root``.

    Args:
        root: Corpus root to create.
        exercises: Spreadsheet stems to write.
        recordings: Recordings (video-number pairs) per exercise.
        reps: Repetitions (rows) per recording.
        subjects: Also write ``subjects.csv``.
        seed: Random seed.
        zero_frames: All-zero (undetected) pose frames per pose file.

    Returns:
        Expected counts: rows, videos, criteria, scores, poses, undetected, and the column lists.
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    frontal_jpg, lateral_jpg = _jpeg(48, 64, 90), _jpeg(64, 48, 160)
    expected = {"rows": 0, "videos": 0, "criteria": 0, "scores": 0, "poses": 0, "undetected": 0}
    subject_rows = []
    video = 1
    for key in exercises:
        ex = EXERCISES[key]
        rows, front, lat = [], [], []
        folder = root / ex.folder
        folder.mkdir(exist_ok=True)
        for rec in range(recordings):
            vf, vl = video, video + 1  # odd frontal, even lateral
            video += 2
            subject_rows.append([vf, vl, f"P{rec % 2 + 1:02d}"])
            for idx in range(reps):
                values = {c: float(rng.choice([0.0, p])) for c, (_, p) in ex.criteria.items()}
                pf = sum(v for c, v in values.items() if ex.criteria[c][0] == "frontal")
                pl = sum(v for c, v in values.items() if ex.criteria[c][0] == "lateral")
                row = []
                for col in ex.columns:
                    if col in values:
                        row.append(layout.cell(values[col]))
                    elif col.startswith("Score: Frontal"):
                        row.append(layout.cell(pf))
                    elif col.startswith("Score: Lateral"):
                        row.append(layout.cell(pl))
                    elif col.startswith("Total Score"):
                        row.append(layout.cell(pf + pl))
                    else:
                        row.append({"Num Video Frontal": vf, "Num Video Lateral": vl, "NumIdx": idx,
                                    "Action": ex.action, "class": ex.cls, "rating": int(rng.integers(1, 6))}[col])
                rows.append(row)
                for v, data in ((vf, frontal_jpg), (vl, lateral_jpg)):
                    for i in range(1, FRAMES + 1):
                        (folder / layout.frame_name(v, idx, i)).write_bytes(data)
                front.append(rng.random((FRAMES, 33, 3)).round(6))
                lat.append(rng.random((FRAMES, 33, 3)).round(6))
        for poses in (front, lat):  # undetected frames are stored as zeros
            for _ in range(zero_frames):
                poses[int(rng.integers(len(poses)))][int(rng.integers(FRAMES))] = 0.0
            expected["undetected"] += sum(int(not p[f].any()) for p in poses for f in range(FRAMES))
        layout.write_sheet(root / f"{ex.sheet}.xlsx", ex.columns, rows)
        for view, poses in (("frontal", front), ("lateral", lat)):
            layout.write_poses(root / layout.pose_file(ex.sheet, view), poses)
        n = len(rows)
        expected["rows"] += n
        expected["videos"] += 2 * n
        expected["criteria"] += n * len(ex.criteria)
        expected["scores"] += 4 * n  # frontal, lateral, and total on both clips
        expected["poses"] += 2 * n * FRAMES
    if subjects:
        layout.write_subjects(root / layout.SUBJECTS_FILE, subject_rows)
    return expected
