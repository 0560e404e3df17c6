"""The RepCount-A layout: videos per part plus one repetition CSV per part.

Written (what ``gymdata import repcount OUT`` reads back)::

    OUT/annotation/{train,valid,test}.csv     ,type,name,count,L1,L2,...  (all.csv when no part)
    OUT/video/{train,valid,test}/<name>.mp4

One row per clip that has ``repetition`` segments: ``type`` the corpus's exercise name when it
maps to the clip's exercise (else the normalised name), ``name`` the video's file name (the
source file's name when unique, else one made from the clip id), ``count`` the repetition count
(``extras.rep_count`` when the corpus gave one, else the number of repetitions), then the first
and last frame (0-based, inclusive) of each repetition in time order. Clips without repetitions
are left out (counted). ``val`` is written ``valid``, as RepCount-A names it; other parts
(``fold1``...) keep their names. Video clips are copied (``-o link=true`` hard-links them), frame
clips encoded to H.264 MP4. ``-o media=false`` writes only the CSVs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from exporters import LINK_OPTION, Exporter, Option, encode_all, file_names, labels_of, place_clip
from gymdata import vocab
from gymdata.errors import InputError
from gymdata.layouts.repcount import write_annotation
from gymdata.store import Dataset

PART_NAMES = {"val": "valid"}


def _count(extras, reps: int) -> int:
    value = json.loads(extras).get("rep_count") if isinstance(extras, str) and extras else None
    return int(value) if isinstance(value, (int, float)) else reps


def write_repcount(ds: Dataset, videos: pd.DataFrame, out: Path, *, workers: int = 1, progress: bool = True,
                   media: bool = True, link: bool = False) -> dict:
    """Write the RepCount-A layout (see the module docstring).

    Raises:
        InputError: If no selected clip has repetition segments.
    """
    segs = labels_of(ds, "segments", videos["video_id"], ["video_id", "kind", "start_frame", "end_frame"])
    segs = segs[segs["kind"] == "repetition"].sort_values(["video_id", "start_frame", "end_frame"])
    reps = {vid: list(zip(g["start_frame"].astype(int), g["end_frame"].astype(int))) for vid, g in segs.groupby("video_id")}
    clips = videos[videos["video_id"].isin(reps)].reset_index(drop=True)
    if clips.empty:
        raise InputError("no selected clip has repetition segments",
                         hint="add them with: gymdata import repcount FILE --name NAME")
    parts = clips["split"].map(lambda p: PART_NAMES.get(p, p) if isinstance(p, str) and p else None)
    parts = parts.fillna("unassigned" if parts.notna().any() else "all")
    folders = "video/" + parts
    ext = clips["path"].map(lambda p: Path(p).suffix.lower()).where(clips["media_kind"] == "video", ".mp4")
    # names must be unique across parts: the importer matches a CSV name to a unique file name
    names = file_names(clips, pd.Series("video", index=clips.index), ext)
    rows: dict[str, list] = {}
    tasks = []
    for i, clip in clips.iterrows():
        if media:
            place_clip(ds, clip, out / folders[i] / names[i], link=link, encode=tasks)
        raw = clip["exercise_raw"] if isinstance(clip["exercise_raw"], str) else None
        kind_name = raw if raw and vocab.lookup(raw) == clip["exercise"] else clip["exercise"]
        bounds = [f for pair in reps[clip["video_id"]] for f in pair]
        rows.setdefault(parts[i], []).append([kind_name, names[i], _count(clip["extras"], len(reps[clip["video_id"]])),
                                              *bounds])
    encode_all(tasks, workers=workers, progress=progress)
    (out / "annotation").mkdir()
    for part, part_rows in rows.items():
        write_annotation(out / "annotation" / f"{part}.csv", part_rows)
    return {"annotated": len(clips), "without repetitions": len(videos) - len(clips),
            "csv": ", ".join(f"{p}.csv" for p in rows)}


exporter = Exporter(
    name="repcount",
    description="RepCount-A layout: annotation/<part>.csv (,type,name,count,L1,...) + video/<part>/",
    write=write_repcount,
    options={"media": Option(bool, True, "copy or encode the videos too (false: the CSVs only)"), "link": LINK_OPTION},
)
