"""The ALEX-GYM-1 layout: one spreadsheet row per repetition, pose JSON and frame folders.

Written (what :mod:`importers.alexgym` reads, so that importing the export gives the same tables)::

    OUT/<sheet>.xlsx                      one row per repetition: Num Video Frontal, Num Video Lateral,
                                          NumIdx, Action, frontal criteria, Score: Frontal( - / m),
                                          lateral criteria, Score: Lateral ( - / m), Total Score - /m,
                                          the corpus's other columns (class, rating, ...)
    OUT/front_pose_<sheet>.json           per row: frames x 33 x (x, y, z); no detection = zeros
    OUT/lat_pose_<sheet>.json
    OUT/<Sheet>_frames/{video}_idx_{NumIdx}_{i}.jpg   i = 1..frames
    OUT/subjects.csv                      Num Video Frontal,Num Video Lateral,subject (when known)

The files are written by :mod:`gymdata.layouts.alexgym`, the one writer of the layout (the sample
generator and the tests' fake corpus use it too); this module decides what goes in them.

A row is a *unit*: the frontal and the lateral clip of one repetition of one recording (same
``recording`` and ``rep_index``; a clip without ``rep_index`` is repetition 0). Units that lack
one of the two views cannot be a row and are left out (counted). Sheets: the clips'
``extras.spreadsheet`` (ALEX-GYM-1 clips), else ``squat``, ``deadlift``, ``lunges`` or the
exercise name. Rows keep the spreadsheet order of ``extras.spreadsheet_row`` when every clip has it;
video numbers are kept from ``extras.video``, else numbered 1, 2, ... per sheet (odd frontal,
even lateral, as the corpus does).

Frames: frame-folder clips are copied image by image (``-o link=true`` hard-links them); video
clips are decoded at ``-o frames=16`` uniformly sampled frames, written as JPEG. Poses: the
clip's BlazePose-33 rows (the source with most frames) at the written frames.

Labels: criteria become columns named as stored, with `` F``/`` L`` appended when a name does not
already end in its view's letter (the corpus marks a criterion's view so); the cell holds
``value`` (or 1/0 from ``passed``). Scores ``frontal``, ``lateral`` and ``total`` become the score
columns, their scale in the column name; other score names have no ALEX-GYM-1 column and are not
written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from exporters import (
    LINK_OPTION,
    Exporter,
    ImagesTask,
    Option,
    clip_media,
    labels_of,
    pick_pose_source,
    place_file,
    write_all_images,
)
from gymdata.errors import InputError
from gymdata.layouts import alexgym as layout
from gymdata.media import sample_indices
from gymdata.schema import NUM_LANDMARKS
from gymdata.store import Dataset

CORPUS = "alex-gym-1"
SHEETS = {exercise: names.sheet for exercise, names in layout.RELEASE.items()}
#: ALEX-GYM-1's ``class`` column.
CLASSES = {exercise: names.cls for exercise, names in layout.RELEASE.items()}
VIEW_LETTER = {"frontal": "F", "lateral": "L"}
#: Keys the importer adds to extras itself; the other keys are spreadsheet columns.
_OWN_KEYS = {"fps_assumed", "spreadsheet", "spreadsheet_row", "video", "pair"}
_ENDS_IN_VIEW = re.compile(r"(?:^|[^A-Za-z])([FL])$")


def _extras(text) -> dict:
    return json.loads(text) if isinstance(text, str) and text else {}


def _sheet(clip: pd.Series, extras: dict) -> str:
    if extras.get("spreadsheet"):
        return Path(extras["spreadsheet"]).stem
    return SHEETS.get(clip["exercise"], clip["exercise"])


def _column(name: str, view: str | None) -> str:
    letter = VIEW_LETTER.get(view or "")
    norm = " ".join(name.replace("\xa0", " ").split())
    m = _ENDS_IN_VIEW.search(norm)
    if m and (letter is None or m.group(1) == letter):
        return name
    return f"{name} {letter or 'L'}"


def _units(videos: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One row per unit with its frontal and lateral clip rows; and the count of clips left out."""
    v = videos.copy()
    v["_extras"] = v["extras"].map(_extras)
    v["_sheet"] = [_sheet(c, e) for (_, c), e in zip(v.iterrows(), v["_extras"])]
    v["_rep"] = v["rep_index"].fillna(0).astype(int)
    v["_rec"] = v["recording"].fillna(v["video_id"])
    rows = []
    for (sheet, rec, rep), g in v.groupby(["_sheet", "_rec", "_rep"], sort=False):
        by_view = {c["view"]: c for _, c in g.iterrows() if c["view"] in VIEW_LETTER}
        if set(by_view) == set(VIEW_LETTER):
            rows.append({"sheet": sheet, "recording": rec, "rep": rep, **{view: by_view[view] for view in VIEW_LETTER}})
    units = pd.DataFrame(rows)
    left = len(videos) - 2 * len(units)
    if units.empty:
        return units, left
    order = [u["frontal"]["_extras"].get("spreadsheet_row") for _, u in units.iterrows()]
    if all(isinstance(o, int) for o in order):
        units["_order"] = order
    else:
        units["_order"] = range(len(units))
    return units.sort_values(["sheet", "_order"], kind="stable").reset_index(drop=True), left


def _numbers(units: pd.DataFrame) -> pd.DataFrame:
    """Video numbers per unit: kept from extras when every clip of the sheet has one, else new."""
    units = units.copy()
    units["num_f"] = 0
    units["num_l"] = 0
    for sheet, g in units.groupby("sheet", sort=False):
        kept = [(u["frontal"]["_extras"].get("video"), u["lateral"]["_extras"].get("video")) for _, u in g.iterrows()]
        if all(isinstance(a, int) and isinstance(b, int) for a, b in kept):
            units.loc[g.index, "num_f"] = [a for a, _ in kept]
            units.loc[g.index, "num_l"] = [b for _, b in kept]
            continue
        recordings = list(dict.fromkeys(g["recording"]))
        k = {r: i + 1 for i, r in enumerate(recordings)}
        units.loc[g.index, "num_f"] = [2 * k[r] - 1 for r in g["recording"]]
        units.loc[g.index, "num_l"] = [2 * k[r] for r in g["recording"]]
    return units


def _frames_folder(sheet: str, clips: list[pd.Series]) -> str:
    for clip in clips:
        if clip["corpus"] == CORPUS and clip["media_kind"] == "frames" and "/" in clip["path"]:
            return clip["path"].split("/", 1)[0]
    return layout.frames_folder(sheet)


def write_alexgym(ds: Dataset, videos: pd.DataFrame, out: Path, *, workers: int = 1, progress: bool = True,
                  frames: int = 16, link: bool = False) -> dict:
    """Write the ALEX-GYM-1 layout (see the module docstring).

    Raises:
        InputError: If no unit has both views.
    """
    units, left = _units(videos)
    if units.empty:
        raise InputError("no repetition has both a frontal and a lateral clip",
                         hint="the ALEX-GYM-1 layout needs both views of every row")
    units = _numbers(units)
    ids = [u[v]["video_id"] for _, u in units.iterrows() for v in VIEW_LETTER]
    crit = labels_of(ds, "criteria", ids, ["video_id", "criterion", "view", "value", "passed", "origin"])
    scores = labels_of(ds, "scores", ids, ["video_id", "name", "value", "scale_max", "origin"])
    scores = scores[scores["name"].isin(list(layout.SCORE_COLUMNS))]
    poses = labels_of(ds, "poses", ids, ["video_id", "frame", "layout", "landmarks", "detected", "source"])
    poses = {vid: pick_pose_source(g) for vid, g in poses.groupby("video_id")}
    image_tasks, rows_written, subjects = [], 0, []
    for sheet, g in units.groupby("sheet", sort=False):
        clips = [u[v] for _, u in g.iterrows() for v in VIEW_LETTER]
        folder = _frames_folder(sheet, clips)
        (out / folder).mkdir(exist_ok=True)
        sheet_ids = [c["video_id"] for c in clips]
        sc = scores[scores["video_id"].isin(sheet_ids)]
        cr = crit[crit["video_id"].isin(sheet_ids)].merge(
            pd.DataFrame({"video_id": sheet_ids, "clip_view": [c["view"] for c in clips]}), on="video_id")
        cr["column"] = [_column(n, v if isinstance(v, str) else cv) for n, v, cv in
                        zip(cr["criterion"], cr["view"], cr["clip_view"])]
        cr["letter"] = cr["column"].map(lambda c: _ENDS_IN_VIEW.search(" ".join(c.split())).group(1))
        crit_cols = {letter: list(dict.fromkeys(cr.loc[cr["letter"] == letter, "column"])) for letter in "FL"}
        scales = {name: float(sc.loc[sc["name"] == name, "scale_max"].max())
                  for name in layout.SCORE_COLUMNS if (sc["name"] == name).any()}
        score_cols = {name: layout.SCORE_COLUMNS[name].format(scale) for name, scale in scales.items()}
        others = list(dict.fromkeys(k for c in clips if c["corpus"] == CORPUS for k in c["_extras"]
                                    if k not in _OWN_KEYS))
        if not others:
            others = ["Action", "class"] if any(c["exercise"] in CLASSES for c in clips) else ["Action"]
        head = [o for o in others if o.lower() == "action"]
        tail = [o for o in others if o.lower() != "action"]
        columns = layout.sheet_columns(crit_cols["F"], crit_cols["L"], scales, head=head, tail=tail)
        verdict = {(vid, col): (layout.cell(val) if not pd.isna(val) else (None if pd.isna(p) else int(bool(p))))
                   for vid, col, val, p in zip(cr["video_id"], cr["column"], cr["value"], cr["passed"])}
        score_of = {(vid, name): layout.cell(val)
                    for vid, name, val in zip(sc["video_id"], sc["name"], sc["value"])}
        sheet_rows, pose_json = [], {"frontal": [], "lateral": []}
        for _, u in g.iterrows():
            f, lat = u["frontal"], u["lateral"]
            cells = {"Num Video Frontal": int(u["num_f"]), "Num Video Lateral": int(u["num_l"]), "NumIdx": int(u["rep"])}
            for col in crit_cols["F"] + crit_cols["L"]:
                cells[col] = verdict.get((f["video_id"], col), verdict.get((lat["video_id"], col)))
            for name, col in score_cols.items():
                owner = lat if name == "lateral" else f
                cells[col] = score_of.get((owner["video_id"], name), score_of.get((lat["video_id"], name)))
            extras = {**lat["_extras"], **f["_extras"]}
            for col in others:
                if col in extras:
                    cells[col] = extras[col]
                elif col.lower() == "action":
                    cells[col] = f["exercise_raw"] if isinstance(f["exercise_raw"], str) else f["exercise"]
                elif col == "class":
                    cells[col] = CLASSES.get(f["exercise"])
            sheet_rows.append([cells.get(c) for c in columns])
            for view, clip, num in (("frontal", f, u["num_f"]), ("lateral", lat, u["num_l"])):
                written = _place_frames(ds, clip, out / folder, int(num), int(u["rep"]), frames, link, image_tasks)
                pose_json[view].append(_pose_entry(poses.get(clip["video_id"]), written))
            if isinstance(f["subject"], str):
                subjects.append([int(u["num_f"]), int(u["num_l"]), f["subject"]])
        layout.write_sheet(out / f"{sheet}.xlsx", columns, sheet_rows)
        for view in VIEW_LETTER:
            layout.write_poses(out / layout.pose_file(sheet, view), pose_json[view])
        rows_written += len(sheet_rows)
    write_all_images(image_tasks, workers=workers, progress=progress)
    if subjects:
        layout.write_subjects(out / layout.SUBJECTS_FILE, subjects)
    return {"rows": rows_written, "sheets": units["sheet"].nunique(), "clips left out": left}


def _place_frames(ds: Dataset, clip: pd.Series, folder: Path, num: int, rep: int, frames: int, link: bool,
                  tasks: list[ImagesTask]) -> list[int]:
    """Copy (frame clips) or schedule decoding (videos) of a clip's frames; returns the source frame indices."""
    kind, media = clip_media(ds, clip)
    if kind == "frames":
        for i, src in enumerate(media, start=1):
            place_file(src, folder / layout.frame_name(num, rep, i, src.suffix), link=link)
        return list(range(len(media)))
    indices = sample_indices(int(clip["num_frames"]), frames).tolist()
    outs = tuple(folder / layout.frame_name(num, rep, i) for i in range(1, len(indices) + 1))
    tasks.append(ImagesTask(media, tuple(indices), outs))
    return indices


def _pose_entry(poses: pd.DataFrame | None, frames: list[int]) -> list:
    """frames x 33 x 3 (x, y, z) for the written frames; zeros where there is no detected pose."""
    out = np.zeros((len(frames), NUM_LANDMARKS, 3), np.float32)
    if poses is not None and len(poses):
        by_frame = {int(f): (lm, d) for f, lm, d in zip(poses["frame"], poses["landmarks"], poses["detected"])}
        for t, f in enumerate(frames):
            hit = by_frame.get(f)
            if hit is not None and hit[1]:
                out[t] = np.asarray(hit[0], np.float32).reshape(NUM_LANDMARKS, 4)[:, :3]
    return out.tolist()


exporter = Exporter(
    name="alex-gym-1",
    description="ALEX-GYM-1 layout: spreadsheets, frontal/lateral pose JSON, frame folders",
    write=write_alexgym,
    options={"frames": Option(int, 16, "frames per repetition decoded from video clips"), "link": LINK_OPTION},
)
