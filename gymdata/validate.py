"""Dataset validation: schema, ranges, referential integrity, frames vs poses.

:func:`check` returns every problem found (an empty list means valid); :func:`validate` raises
:class:`~gymdata.errors.ValidationError` listing them. Importers call :func:`validate` at the end.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gymdata import vocab
from gymdata.errors import ValidationError
from gymdata.schema import LABEL_TABLES, POSE_LAYOUTS, SCHEMA_VERSION, TABLES, VIEWS
from gymdata.skeleton import LAYOUT_JOINTS
from gymdata.store import Dataset

_MAX_LISTED = 5  # offending ids shown per problem


def _ids(values) -> str:
    values = list(values)
    more = f" and {len(values) - _MAX_LISTED} more" if len(values) > _MAX_LISTED else ""
    return ", ".join(map(str, values[:_MAX_LISTED])) + more


def _check_storage(ds: Dataset) -> list[str]:
    problems = []
    if ds.meta.get("schema_version") != SCHEMA_VERSION:
        problems.append(f"schema version {ds.meta.get('schema_version')!r}, expected {SCHEMA_VERSION!r}")
    for table, info in ds.meta.get("tables", {}).items():
        if table not in TABLES:
            problems.append(f"unknown table {table!r} in dataset.json")
            continue
        rows = 0
        for part in info.get("parts", []):
            path = ds.path / "tables" / table / part
            if not path.is_file():
                problems.append(f"{table}: part file {part} is missing")
                continue
            try:
                meta = pq.read_metadata(path)
            except (OSError, pa.ArrowInvalid) as exc:
                problems.append(f"{table}: part file {part} is damaged ({str(exc).splitlines()[0][:120]})")
                continue
            if not meta.schema.to_arrow_schema().remove_metadata().equals(TABLES[table].schema.remove_metadata()):
                problems.append(f"{table}: part {part} does not have the table's schema")
            rows += meta.num_rows
        if rows != info.get("rows"):
            problems.append(f"{table}: dataset.json says {info.get('rows')} rows, the parts hold {rows}")
    return problems


def _check_videos(ds: Dataset, videos: pa.Table, check_media: bool) -> list[str]:
    problems = []
    ids = videos.column("video_id")
    if pc.count_distinct(ids).as_py() != len(ids):
        counts = pc.value_counts(ids)
        dup = [c["values"] for c in counts.to_pylist() if c["counts"] > 1]
        problems.append(f"videos: duplicate video_id {_ids(dup)}")
    df = videos.select(["video_id", "corpus", "path", "media_kind", "exercise", "view", "fps", "num_frames",
                        "width", "height", "duration", "extras"]).to_pandas()
    for col in ("fps", "num_frames", "width", "height"):
        bad = df.loc[~(df[col] > 0), "video_id"]
        if len(bad):
            problems.append(f"videos.{col}: not positive for {_ids(bad)}")
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = df["num_frames"] / df["fps"]
    bad = df.loc[(df["fps"] > 0) & ((df["duration"] - expected).abs() > 0.05 + 0.01 * expected), "video_id"]
    if len(bad):
        problems.append(f"videos.duration: differs from num_frames / fps for {_ids(bad)}")
    bad = df.loc[~df["exercise"].map(lambda e: e in vocab.EXERCISES), "exercise"].unique()
    if len(bad):
        problems.append(f"videos.exercise: not in the vocabulary: {_ids(bad)}")
    bad = df.loc[df["view"].notna() & ~df["view"].isin(VIEWS), "view"].unique()
    if len(bad):
        problems.append(f"videos.view: unknown view(s) {_ids(bad)} (allowed: {', '.join(VIEWS)})")
    bad = []
    for vid, extras in zip(df["video_id"], df["extras"]):
        if extras is None or (isinstance(extras, float) and extras != extras):  # null reads as NaN in pandas 3
            continue
        try:
            if not isinstance(json.loads(extras), dict):
                bad.append(vid)
        except ValueError:
            bad.append(vid)
    if bad:
        problems.append(f"videos.extras: not a JSON object for {_ids(bad)}")
    if check_media:
        roots = {corpus: str(ds.resolve(corpus, "")) for corpus in df["corpus"].unique()}
        missing = [vid for vid, corpus, path in zip(df["video_id"], df["corpus"], df["path"])
                   if not _media_exists(os.path.join(roots[corpus], path))]
        if missing:
            problems.append(f"videos.path: media not found for {_ids(missing)}")
    return problems


def _media_exists(path: str) -> bool:
    # frame clips may be stored as a folder or as a glob pattern inside a folder; strings, not
    # pathlib, because this runs once per clip
    return os.path.exists(path) or ("*" in os.path.basename(path) and os.path.isdir(os.path.dirname(path)))


def _frames_in_range(table: str, df, frames: dict, cols: tuple[str, ...]) -> list[str]:
    problems = []
    limit = df["video_id"].map(frames)
    for col in cols:
        values = df[col]
        bad = df.loc[values.notna() & ((values < 0) | (values >= limit)), "video_id"].unique()
        if len(bad):
            problems.append(f"{table}.{col}: frame outside the clip for {_ids(bad)}")
    return problems


def _check_poses(ds: Dataset, frames: dict) -> list[str]:
    problems = []
    tbl = ds.read("poses", columns=["video_id", "frame", "layout", "landmarks", "detected", "source"])
    df = tbl.select(["video_id", "frame", "layout", "detected", "source"]).to_pandas()
    orphans = df.loc[~df["video_id"].isin(frames.keys()), "video_id"].unique()
    if len(orphans):
        problems.append(f"poses: rows for unknown video_id {_ids(orphans)}")
    problems += _frames_in_range("poses", df, frames, ("frame",))
    dup = df.duplicated(["video_id", "frame", "source"])
    if dup.any():
        problems.append(f"poses: duplicate (video_id, frame, source) rows for {_ids(df.loc[dup, 'video_id'].unique())}")
    bad = df.loc[~df["layout"].isin(POSE_LAYOUTS), "layout"].unique()
    if len(bad):
        problems.append(f"poses.layout: unknown layout(s) {_ids(bad)}")
    lengths = pc.list_value_length(tbl.column("landmarks")).to_numpy(zero_copy_only=False)
    expected = df["layout"].map(LAYOUT_JOINTS).fillna(-1).to_numpy() * 4
    bad = df.loc[lengths != expected, "video_id"].unique()
    if len(bad):
        problems.append(f"poses.landmarks: wrong number of values for the layout in {_ids(bad)}")
    blaze = (df["layout"] == "blazepose33").to_numpy() & (lengths == 132)
    if blaze.any():
        flat = pc.list_flatten(tbl.column("landmarks").filter(pa.array(blaze))).to_numpy(zero_copy_only=False)
        lm = flat.reshape(-1, 33, 4)
        vis = lm[..., 3]
        if np.any((vis < -1e-6) | (vis > 1 + 1e-6)):
            problems.append("poses.landmarks: visibility outside [0, 1]")
        if not np.isfinite(lm[..., :3]).all():
            problems.append("poses.landmarks: non-finite coordinates")
    return problems


def _check_labels(ds: Dataset, table: str, frames: dict) -> list[str]:
    problems = []
    df = ds.df(table)
    orphans = df.loc[~df["video_id"].isin(frames.keys()), "video_id"].unique()
    if len(orphans):
        problems.append(f"{table}: rows for unknown video_id {_ids(orphans)}")
    if table == "scores":
        bad = df.loc[~(df["scale_min"] < df["scale_max"]), "video_id"].unique()
        if len(bad):
            problems.append(f"scores: scale_min not below scale_max for {_ids(bad)}")
        out = df.loc[(df["value"] < df["scale_min"]) | (df["value"] > df["scale_max"]), "video_id"].unique()
        if len(out):
            problems.append(f"scores.value: outside its scale for {_ids(out)}")
    if table in ("segments", "penalties"):
        problems += _frames_in_range(table, df, frames, ("start_frame", "end_frame"))
        bad = df.loc[df["start_frame"].notna() & (df["start_frame"] > df["end_frame"]), "video_id"].unique()
        if len(bad):
            problems.append(f"{table}: start_frame after end_frame for {_ids(bad)}")
    if table == "signals":
        bad = df.loc[df["sample_rate"].notna() & ~(df["sample_rate"] > 0), "video_id"].unique()
        if len(bad):
            problems.append(f"signals.sample_rate: not positive for {_ids(bad)}")
        bad = df.loc[df["samples"].map(len) == 0, "video_id"].unique()
        if len(bad):
            problems.append(f"signals.samples: empty for {_ids(bad)}")
    return problems


def check(ds: Dataset, *, check_media: bool = True) -> list[str]:
    """Every problem found in a dataset, one line each (empty if it is valid)."""
    problems = _check_storage(ds)
    if problems:
        return problems  # the data cannot be trusted enough to check further
    videos = ds.read("videos")
    problems += _check_videos(ds, videos, check_media)
    frames = dict(zip(videos.column("video_id").to_pylist(), videos.column("num_frames").to_pylist()))
    if ds.has("poses"):
        problems += _check_poses(ds, frames)
    for table in (*LABEL_TABLES, "signals"):
        if ds.has(table):
            problems += _check_labels(ds, table, frames)
    return problems


def validate(ds: Dataset, *, check_media: bool = True) -> None:
    """Raise :class:`ValidationError` if :func:`check` finds any problem."""
    problems = check(ds, check_media=check_media)
    if problems:
        raise ValidationError(
            f"dataset {ds.name!r} failed validation: {problems[0]}"
            + (f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""),
            problems=problems,
            hint=f"run 'gymdata validate {ds.name}' for the full list",
        )
