"""The FLEX layout: frame folders per view, MoCap skeleton and sEMG CSVs, Split_4 lists, knowledge graph.

Written (what :mod:`importers.flex` reads, so that importing the export gives the same tables)::

    OUT/A%02d/%03d/View-<k>/img_%05d.JPG            frames, 1-based
    OUT/Skeleton/A%02d/%03d/skeleton_points.csv     header + one row per frame: 21 joints x (x, y, z)
    OUT/EMG/A%02d/%03d/EMG.csv                      no header, channels emg_1..emg_4 as columns
    OUT/Split_4/split_4_{train,test}_list.mat       consolidated_{train,test}_list: [action, sample, score]
    OUT/subjects.csv                                action,sample,subject,skill_level
    OUT/knowledge_graph.json                        the dataset's graph + annotations of the exported samples

A FLEX *sample* is a recording; its clips are its views. FLEX clips keep their action, sample
and camera (``extras``); other clips get an action per exercise (``A16`` for the squat, the
corpus's one named action, then the lowest free numbers), samples numbered per action in
recording order, cameras ``View-k`` in the order frontal, lateral, rear, overhead, other.
Frame-folder clips are copied image by image (``-o link=true`` hard-links them); video clips are
decoded, every frame written as JPEG.

The skeleton is the recording's ``flex21`` poses and the sEMG its ``emg`` signals (FLEX keeps
them on the first view clip). The Split_4 lists carry the score named ``score`` of each sample in
the train or test part; FLEX has no other parts, so samples of a ``val`` (or no) part are not
listed and lose their score on re-import (counted as ``unlisted``). The frame rate is not part of
the layout: import with ``--fps`` set to the clips' rate (printed).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from exporters import LINK_OPTION, Exporter, ImagesTask, clip_media, labels_of, place_file, write_all_images
from gymdata import knowledge_graph
from gymdata.store import Dataset

CORPUS = "flex"
SQUAT_ACTION = 16
VIEW_ORDER = ("frontal", "lateral", "rear", "overhead", "other")
JOINTS = 21
_CAMERA = re.compile(r"^View-(\d+)$")
_ACTION = re.compile(r"^A(\d{2})$")


def _extras(text) -> dict:
    return json.loads(text) if isinstance(text, str) and text else {}


def plan_samples(videos: pd.DataFrame) -> pd.DataFrame:
    """Action number, sample number and camera of every clip (see the module docstring)."""
    v = videos.copy()
    ext = v["extras"].map(_extras)
    v["_rec"] = v["recording"].fillna(v["video_id"])
    own = v["corpus"] == CORPUS
    v["action"] = [int(_ACTION.match(e["action"]).group(1)) if o and _ACTION.match(str(e.get("action", ""))) else None
                   for o, e in zip(own, ext)]
    v["sample"] = [int(e["sample"]) if o and isinstance(e.get("sample"), int) else None for o, e in zip(own, ext)]
    v["camera"] = [e["camera"] if o and _CAMERA.match(str(e.get("camera", ""))) else None for o, e in zip(own, ext)]
    used = set(v["action"].dropna().astype(int))
    by_exercise: dict[str, int] = {}
    free = (a for a in range(1, 100) if a not in used and a != SQUAT_ACTION)
    for ex in sorted(v.loc[v["action"].isna(), "exercise"].unique()):
        by_exercise[ex] = SQUAT_ACTION if ex == "squat" and SQUAT_ACTION not in used else next(free)
    v.loc[v["action"].isna(), "action"] = v.loc[v["action"].isna(), "exercise"].map(by_exercise)
    v["action"] = v["action"].astype(int)
    for action, g in v.groupby("action"):
        taken = set(g["sample"].dropna().astype(int))
        missing = g[g["sample"].isna()]
        numbers = (n for n in range(1, 1000) if n not in taken)
        for rec in dict.fromkeys(missing["_rec"]):
            v.loc[missing.index[missing["_rec"] == rec], "sample"] = next(numbers)
    v["sample"] = v["sample"].astype(int)
    for _, g in v.groupby(["action", "sample"]):
        taken = {int(_CAMERA.match(c).group(1)) for c in g["camera"].dropna()}
        numbers = (k for k in range(1, 100) if k not in taken)
        todo = g[g["camera"].isna()]
        todo = todo.assign(_o=todo["view"].map(lambda x: VIEW_ORDER.index(x) if x in VIEW_ORDER else len(VIEW_ORDER)))
        for i in todo.sort_values(["_o", "video_id"]).index:
            v.at[i, "camera"] = f"View-{next(numbers)}"
    v["key"] = [f"A{a:02d}/{s:03d}" for a, s in zip(v["action"], v["sample"])]
    return v


def write_flex(ds: Dataset, videos: pd.DataFrame, out: Path, *, workers: int = 1, progress: bool = True,
               link: bool = False) -> dict:
    """Write the FLEX layout (see the module docstring)."""
    import scipy.io

    v = plan_samples(videos)
    ids = v["video_id"].tolist()
    tasks = []
    for _, clip in v.iterrows():
        folder = out / clip["key"] / clip["camera"]
        folder.mkdir(parents=True)
        kind, media = clip_media(ds, clip)
        if kind == "frames":
            for i, src in enumerate(media, start=1):
                place_file(src, folder / f"img_{i:05d}{src.suffix}", link=link)
        else:
            n = int(clip["num_frames"])
            tasks.append(ImagesTask(media, tuple(range(n)), tuple(folder / f"img_{i:05d}.JPG" for i in range(1, n + 1))))
    write_all_images(tasks, workers=workers, progress=progress)

    skeletons = _write_skeletons(ds, v, ids, out)
    emgs = _write_emg(ds, v, ids, out)
    lists, unlisted = _write_split_lists(ds, v, ids, out, scipy.io)
    subjects = v.drop_duplicates("key")
    subjects = subjects[subjects["subject"].notna() | subjects["skill_level"].notna()]
    if len(subjects):
        with open(out / "subjects.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["action", "sample", "subject", "skill_level"])
            for _, s in subjects.iterrows():
                writer.writerow([f"A{s['action']:02d}", s["sample"], *("" if pd.isna(s[c]) else s[c]
                                                                      for c in ("subject", "skill_level"))])
    graph = _write_graph(ds, v, out)
    fps = sorted(v["fps"].dropna().unique().tolist())
    return {"samples": v["key"].nunique(), "skeletons": skeletons, "emg": emgs, "listed": lists,
            "unlisted": unlisted, "knowledge graph": graph, "fps": "/".join(f"{f:g}" for f in fps)}


def _per_sample(table: pd.DataFrame, v: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    """Per sample (``A16/001``) with rows in ``table``: the rows of its one clip that has them (the
    importer stores a recording's measurements on its first view clip)."""
    for key, g in v.groupby("key"):
        rows = table[table["video_id"].isin(g["video_id"])]
        if not rows.empty:
            yield key, rows[rows["video_id"] == rows["video_id"].iloc[0]]


def _write_skeletons(ds: Dataset, v: pd.DataFrame, ids: list[str], out: Path) -> int:
    poses = labels_of(ds, "poses", ids, ["video_id", "frame", "layout", "landmarks"])
    poses = poses[poses["layout"] == "flex21"]
    written = 0
    for key, rows in _per_sample(poses, v):
        rows = rows.sort_values("frame")
        xyz = np.stack(rows["landmarks"].to_numpy()).reshape(len(rows), JOINTS, 4)[:, :, :3].reshape(len(rows), -1)
        path = out / "Skeleton" / key / "skeleton_points.csv"
        path.parent.mkdir(parents=True)
        with open(path, "w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow([f"J{j:02d}_{a}" for j in range(JOINTS) for a in "XYZ"])
            writer.writerows([[repr(float(x)) for x in row] for row in xyz])
        written += 1
    return written


def _write_emg(ds: Dataset, v: pd.DataFrame, ids: list[str], out: Path) -> int:
    signals = labels_of(ds, "signals", ids, ["video_id", "channel", "kind", "samples"])
    signals = signals[signals["kind"] == "emg"]
    written = 0
    for key, rows in _per_sample(signals, v):
        rows = rows.assign(_n=rows["channel"].str.extract(r"(\d+)$")[0].astype(float)).sort_values(["_n", "channel"])
        columns = [np.asarray(s, np.float32) for s in rows["samples"]]
        length = min(len(c) for c in columns)
        path = out / "EMG" / key / "EMG.csv"
        path.parent.mkdir(parents=True)
        with open(path, "w", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(
                [[repr(float(c[i])) for c in columns] for i in range(length)])
        written += 1
    return written


def _write_split_lists(ds: Dataset, v: pd.DataFrame, ids: list[str], out: Path, sio) -> tuple[int, int]:
    scores = labels_of(ds, "scores", ids, ["video_id", "name", "value", "origin"])
    scores = scores[scores["name"] == "score"]
    score_of = dict(zip(scores["video_id"], scores["value"]))
    lists: dict[str, list] = {"train": [], "test": []}
    unlisted = 0
    for key, g in v.groupby("key"):
        part = g["split"].dropna().iloc[0] if g["split"].notna().any() else None
        value = next((score_of[i] for i in g["video_id"] if i in score_of), None)
        if part in lists and value is not None:
            lists[part].append([g["action"].iloc[0], g["sample"].iloc[0], float(value)])
        else:
            unlisted += 1
    (out / "Split_4").mkdir()
    for part, rows in lists.items():
        sio.savemat(str(out / "Split_4" / f"split_4_{part}_list.mat"),
                    {f"consolidated_{part}_list": np.asarray(rows, dtype=float).reshape(-1, 3)})
    return sum(map(len, lists.values())), unlisted


def _write_graph(ds: Dataset, v: pd.DataFrame, out: Path) -> int:
    """The knowledge graph with the annotations of the exported FLEX samples; returns their number."""
    if not ds.attachment(knowledge_graph.ATTACHMENT).is_file():
        return 0
    path = out / "knowledge_graph.json"
    doc = knowledge_graph.write(ds, path, corpus=CORPUS)
    exported = set(v.loc[v["corpus"] == CORPUS, "key"])
    doc["annotations"] = [a for a in doc["annotations"] if f"{a['action']}/{a['sample']:03d}" in exported]
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    return len(doc["annotations"])


exporter = Exporter(
    name="flex",
    description="FLEX layout: View-k frame folders, skeleton and EMG CSVs, Split_4 lists, knowledge graph",
    write=write_flex,
    options={"link": LINK_OPTION},
)
