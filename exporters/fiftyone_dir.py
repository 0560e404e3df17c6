"""A FiftyOne dataset directory (``fo.types.FiftyOneDataset``): one video sample per clip.

Fields of a sample: ``video_id``, ``corpus``, ``subject``, ``recording``, ``view``, ``rep_index``,
``split`` (also a tag), ``skill_level``, ``fps``, ``num_frames``, ``extras`` (the JSON string);
``exercise`` (``Classification``); ``criteria`` (``Classifications``, one per criterion: label =
criterion name, attributes ``passed``, ``value``, ``criterion_view``, ``origin``, ``annotator``);
``scores`` (a list of dicts: name, value, scale_min, scale_max, origin, annotator); ``segments``
(``TemporalDetections``: label, attribute ``kind``, ``support`` = 1-based inclusive frames, as
FiftyOne counts them). Poses are left to the FiftyOne push (annotators).

Frame-folder clips are encoded to H.264 MP4 first (FiftyOne plays videos, not image folders).
Media are copied into the directory (``-o media=symlink`` links them instead), so it loads
anywhere with ``fo.Dataset.from_dir(OUT, dataset_type=fo.types.FiftyOneDataset)``;
:func:`to_tables` reads such a dataset back into the store's tables.

FiftyOne needs its database: set ``FIFTYONE_DATABASE_DIR`` (a folder for a private mongod) or
``FIFTYONE_DATABASE_URI``; ``FIFTYONE_DO_NOT_TRACK=true`` turns usage tracking off.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa

from exporters import EncodeTask, Exporter, Option, clip_media, encode_all, labels_of, safe_name
from gymdata.schema import TABLES
from gymdata.store import Dataset

_MEDIA = {"copy": True, "symlink": "symlink"}
_FIELDS = ("video_id", "corpus", "subject", "recording", "view", "rep_index", "split", "skill_level", "fps",
           "num_frames", "extras")
_SCORE_KEYS = ("name", "value", "scale_min", "scale_max", "origin", "annotator")


def _value(v):
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
        return None
    return v.item() if hasattr(v, "item") else v


def write_fiftyone(ds: Dataset, videos: pd.DataFrame, out: Path, *, workers: int = 1, progress: bool = True,
                   media: str = "copy") -> dict:
    """Build the samples in a temporary FiftyOne dataset and export it (see the module docstring)."""
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")  # the bundled mongod 6 is supported
    import fiftyone as fo

    ids = videos["video_id"].tolist()
    crit = labels_of(ds, "criteria", ids)
    scores = labels_of(ds, "scores", ids)
    segs = labels_of(ds, "segments", ids)
    crit, scores, segs = (d.groupby("video_id") for d in (crit, scores, segs))
    crit, scores, segs = dict(list(crit)), dict(list(scores)), dict(list(segs))

    encoded_dir = out.parent / f".{out.name}.media-{uuid.uuid4().hex[:8]}"
    files, tasks = {}, []
    for _, clip in videos.iterrows():
        kind, src = clip_media(ds, clip)
        if kind == "video":
            files[clip["video_id"]] = str(src)
        else:
            dst = encoded_dir / f"{safe_name(clip['video_id'])}.mp4"
            tasks.append(EncodeTask(tuple(src), float(clip["fps"]), dst))
            files[clip["video_id"]] = str(dst)
    try:
        if tasks:
            encoded_dir.mkdir()
            encode_all(tasks, workers=workers, progress=progress)
        samples = []
        for _, clip in videos.iterrows():
            vid = clip["video_id"]
            sample = fo.Sample(filepath=files[vid], tags=[clip["split"]] if isinstance(clip["split"], str) else [])
            for name in _FIELDS:
                sample[name] = _value(clip[name])
            sample["exercise"] = fo.Classification(label=clip["exercise"])
            if vid in crit:
                sample["criteria"] = fo.Classifications(classifications=[
                    fo.Classification(label=r.criterion, passed=_value(r.passed), value=_value(r.value),
                                      criterion_view=_value(r.view), origin=r.origin, annotator=_value(r.annotator))
                    for r in crit[vid].itertuples()])
            if vid in scores:
                sample["scores"] = [{k: _value(getattr(r, k)) for k in _SCORE_KEYS} for r in scores[vid].itertuples()]
            if vid in segs:
                sample["segments"] = fo.TemporalDetections(detections=[
                    fo.TemporalDetection(label=r.label, support=[int(r.start_frame) + 1, int(r.end_frame) + 1],
                                         kind=r.kind, origin=r.origin, annotator=_value(r.annotator))
                    for r in segs[vid].itertuples()])
            samples.append(sample)
        dataset = fo.Dataset()
        try:
            dataset.add_samples(samples, progress=progress)
            # media keep their paths relative to the clips' common folder (no renamed duplicates)
            dataset.export(export_dir=str(out), dataset_type=fo.types.FiftyOneDataset,
                           export_media=_MEDIA[media], rel_dir=os.path.commonpath(list(files.values())) if
                           len(files) > 1 else None, overwrite=True, progress=progress)
        finally:
            dataset.delete()
    finally:
        if encoded_dir.exists():
            import shutil

            shutil.rmtree(encoded_dir, ignore_errors=True)
    return {"samples": len(samples), "encoded": len(tasks)}


def to_tables(dataset) -> dict[str, pa.Table]:
    """``videos`` (the exported columns), ``criteria``, ``scores`` and ``segments`` back from the samples.

    Columns a sample does not carry (``path``, ``media_kind``, ``width``...) come back null, and
    label timestamps (``created_at``) are not exported.
    """
    videos, crit, scores, segs = [], [], [], []
    for s in dataset.iter_samples():
        row = {f: s[f] if s.has_field(f) else None for f in _FIELDS}
        row["exercise"] = s["exercise"].label
        videos.append(row)
        vid = s["video_id"]
        if s.has_field("criteria") and s["criteria"] is not None:
            crit += [{"video_id": vid, "criterion": c.label, "view": c["criterion_view"], "value": c["value"],
                      "passed": c["passed"], "origin": c["origin"], "annotator": c["annotator"]}
                     for c in s["criteria"].classifications]
        if s.has_field("scores") and s["scores"]:
            scores += [{"video_id": vid, **score} for score in s["scores"]]
        if s.has_field("segments") and s["segments"] is not None:
            segs += [{"video_id": vid, "kind": d["kind"], "label": d.label, "start_frame": d.support[0] - 1,
                      "end_frame": d.support[1] - 1, "origin": d["origin"], "annotator": d["annotator"]}
                     for d in s["segments"].detections]

    def table(name: str, rows: list[dict]) -> pa.Table:
        schema = TABLES[name].schema
        cols = {f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema}
        return pa.table(cols, schema=schema)

    return {"videos": table("videos", [{**r, "path": "", "media_kind": "video"} for r in videos]),
            "criteria": table("criteria", crit), "scores": table("scores", scores), "segments": table("segments", segs)}


exporter = Exporter(
    name="fiftyone",
    description="a FiftyOneDataset directory: one video sample per clip with its labels",
    write=write_fiftyone,
    options={"media": Option(str, "copy", "copy the media into the directory, or symlink them",
                             tuple(_MEDIA))},
)
