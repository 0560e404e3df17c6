"""The exercise-scoring projects' layout: videos in per-exercise (or per-split) folders plus score CSVs.

Two layouts, as the two public scoring projects use them (``-o layout=...``)::

    per-exercise (default)                     single
    OUT/<exercise>_<part>/<clip>.mp4           OUT/exercises_<part>/<clip>.mp4
    OUT/<exercise>_scores.csv                  OUT/exercise_scores.csv
        relative_path,score                        relative_path,exercise_type,score
    OUT/meta.csv                               OUT/meta.csv
        relative_path,subject,view,recording,split

Paths in the CSVs are relative to ``OUT``; scores are on 0-100. ``<part>`` is the clip's split
(the folder has no suffix when a clip has none). ``meta.csv`` keeps what the scoring layouts
cannot carry, so ``gymdata import videos OUT --meta OUT/meta.csv`` gives back the same clips,
exercises, splits, subjects, views, recordings and scores.

Scores: the ``quality`` score, or ``-o score=NAME``, rescaled from its scale to 0-100. Clips with
no such score are left out (the projects' CSVs list every clip they use) and counted. Video
clips are copied as they are (``-o link=true`` hard-links them); frame-folder clips are encoded
to H.264 MP4 at their frame rate, in parallel.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from exporters import LINK_OPTION, Exporter, Option, encode_all, file_names, labels_of, place_clip
from gymdata.errors import InputError
from gymdata.store import Dataset


def pick_scores(ds: Dataset, videos: pd.DataFrame, name: str) -> pd.Series:
    """Score per clip on 0-100 from the current ground-truth score ``name`` (never a prediction).

    Raises:
        InputError: If no selected clip has that score.
    """
    sc = labels_of(ds, "scores", videos["video_id"], ["video_id", "name", "value", "scale_min", "scale_max", "origin"])
    sc = sc[sc["name"] == name]
    if sc.empty:
        names = sorted(labels_of(ds, "scores", videos["video_id"], ["name"])["name"].unique())
        raise InputError(f"no selected clip has a {name!r} score",
                         hint=f"scores present: {', '.join(names) or 'none'}; choose one with -o score=NAME")
    span = (sc["scale_max"] - sc["scale_min"]).where(lambda s: s > 0, 1.0)
    return pd.Series(((sc["value"] - sc["scale_min"]) / span * 100).round(4).to_numpy(), index=sc["video_id"])


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_scorer(ds: Dataset, videos: pd.DataFrame, out: Path, *, workers: int = 1, progress: bool = True,
                 layout: str = "per-exercise", score: str = "quality", link: bool = False) -> dict:
    """Write the scoring layout (see the module docstring)."""
    scores = pick_scores(ds, videos, score)
    scored = videos[videos["video_id"].isin(scores.index)].reset_index(drop=True)
    suffix = scored["split"].map(lambda p: f"_{p}" if isinstance(p, str) and p else "")
    folders = (scored["exercise"] if layout == "per-exercise" else pd.Series("exercises", index=scored.index)) + suffix
    kinds = scored["media_kind"]
    ext = scored["path"].map(lambda p: Path(p).suffix.lower()).where(kinds == "video", ".mp4")
    names = file_names(scored, folders, ext)
    encode, per_csv, meta = [], {}, []
    for i, clip in scored.iterrows():
        rel = f"{folders[i]}/{names[i]}"
        place_clip(ds, clip, out / rel, link=link, encode=encode)
        value = f"{scores[clip['video_id']]:.6g}"
        if layout == "per-exercise":
            per_csv.setdefault(f"{clip['exercise']}_scores.csv", []).append([rel, value])
        else:
            per_csv.setdefault("exercise_scores.csv", []).append([rel, clip["exercise"], value])
        meta.append([rel, *("" if pd.isna(clip[c]) else clip[c] for c in ("subject", "view", "recording", "split"))])
    encode_all(encode, workers=workers, progress=progress)
    header = ["relative_path", "score"] if layout == "per-exercise" else ["relative_path", "exercise_type", "score"]
    for name, rows in per_csv.items():
        _write_csv(out / name, header, rows)
    _write_csv(out / "meta.csv", ["relative_path", "subject", "view", "recording", "split"], meta)
    return {"videos": len(scored), "encoded": len(encode), "without score": len(videos) - len(scored),
            "csv": ", ".join(sorted(per_csv))}


exporter = Exporter(
    name="scores-csv",
    description="the scoring projects' layout: <exercise>_<part>/ videos + relative_path,score CSVs",
    write=write_scorer,
    options={
        "layout": Option(str, "per-exercise", "per-exercise (<exercise>_scores.csv) or single "
                         "(exercise_scores.csv with exercise_type)", ("per-exercise", "single")),
        "score": Option(str, "quality", "score name to write (rescaled to 0-100)"),
        "link": LINK_OPTION,
    },
)
