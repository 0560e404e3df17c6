"""Text summaries of a dataset, for ``gymdata info`` and the importers' closing lines."""

from __future__ import annotations

import pandas as pd

from gymdata import labels
from gymdata.output import format_table
from gymdata.store import Dataset


def _table(df: pd.DataFrame) -> str:
    rows = [[None if (isinstance(v, float) and pd.isna(v)) or v is None else v for v in row]
            for row in df.itertuples(index=False)]
    rows = [[int(v) if hasattr(v, "dtype") and v.dtype.kind in "iu" else v for v in row] for row in rows]
    return format_table(list(df.columns), rows)


def summary_dict(ds: Dataset) -> dict:
    """The machine form of :func:`summarise` (``gymdata info --json``): sources, table sizes, clips per
    corpus/exercise/view/split, and labels (current, predictions, history: :func:`gymdata.labels.summary`)."""
    counts = ds.row_counts()
    doc = {"name": ds.name, "path": str(ds.path), "schema_version": ds.meta["schema_version"],
           "updated_at": ds.meta.get("updated_at"), "sources": ds.sources, "tables": counts, "clips": []}
    if counts.get("videos"):
        videos = ds.df("videos", columns=["video_id", "corpus", "exercise", "view", "split", "subject", "num_frames"])
        keys = ["corpus", "exercise", "view", "split"]
        grouped = (videos.fillna({k: "-" for k in keys}).groupby(keys, dropna=False)
                   .agg(clips=("video_id", "size"), subjects=("subject", "nunique"), frames=("num_frames", "sum"))
                   .reset_index())
        doc["clips"] = [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                        for row in grouped.to_dict(orient="records")]
    return {**doc, **labels.summary(ds)}


def summarise(ds: Dataset) -> str:
    """A multi-line report: sources, table sizes, clips by corpus/exercise/view/split, labels."""
    out = [f"dataset {ds.name}  (schema {ds.meta['schema_version']}, {ds.path})"]
    for s in ds.sources:
        out.append(f"  source {s['corpus']}: {s.get('root', '-')}  [{s.get('importer', '?')} {s.get('version', '')}]")
    counts = ds.row_counts()
    out.append("  tables: " + (", ".join(f"{t} {n:,}" for t, n in counts.items()) or "none"))
    if not counts.get("videos"):
        return "\n".join(out)
    videos = ds.df("videos", columns=["video_id", "corpus", "exercise", "view", "split", "subject",
                                      "recording", "num_frames", "duration"])
    keys = ["corpus", "exercise", "view", "split"]
    grouped = (videos.fillna({k: "-" for k in keys})
               .groupby(keys, dropna=False)
               .agg(clips=("video_id", "size"), subjects=("subject", "nunique"),
                    recordings=("recording", "nunique"), frames=("num_frames", "sum"),
                    hours=("duration", lambda d: round(float(d.sum()) / 3600, 3)))
               .reset_index())
    out += ["", "clips", _table(grouped)]
    # labels: the current ground truth per table and kind (gymdata.labels), who made it, and
    # apart from it the history (every row ever appended) and the model predictions
    lab = labels.summary(ds)
    if lab["labels"]:
        rows = pd.DataFrame([{**r, "annotators": ", ".join(r["annotators"]) or "-"} for r in lab["labels"]])
        out += ["", "current labels (the current ground truth: imported, or a person's latest decision)", _table(rows)]
    if counts.get("criteria"):
        crit = labels.current(ds, "criteria")
        crit = crit.merge(videos[["video_id", "exercise"]], on="video_id", how="left")
        agg = (crit.groupby(["exercise", "criterion"], dropna=False)
               .agg(view=("view", "first"), verdicts=("video_id", "size"),
                    passed=("passed", lambda p: int((p == True).sum())),  # noqa: E712 (nullable bools)
                    failed=("passed", lambda p: int((p == False).sum())),  # noqa: E712
                    unsure=("passed", lambda p: int(p.isna().sum())))
               .reset_index())
        if len(agg):
            out += ["", "criteria (current)", _table(agg)]
    if counts.get("scores"):
        scores = labels.current(ds, "scores")
        agg = (scores.groupby("name").agg(n=("value", "size"), mean=("value", "mean"), min=("value", "min"),
                                          max=("value", "max"), scale=("scale_max", "max")).reset_index())
        if len(agg):
            out += ["", "scores (current)", _table(agg)]
    if counts.get("penalties"):
        pen = labels.current(ds, "penalties")
        agg = pen.groupby("error_type").agg(n=("video_id", "size"), points=("points", "sum")).reset_index()
        if len(agg):
            out += ["", "penalties (current)", _table(agg)]
    if lab["predictions"]:
        rows = pd.DataFrame([{**r, "models": ", ".join(r["models"])} for r in lab["predictions"]])
        out += ["", "predictions (model output, not ground truth; latest run per clip)", _table(rows)]
    if lab["history"]:
        parts = [f"{t} " + " + ".join(f"{n:,} {o}" for o, n in by.items()) for t, by in lab["history"].items()]
        deleted = f"; {lab['deletions']} deletion(s) in the edit ledger" if lab["deletions"] else ""
        out += ["", "label history (rows appended, never edited): " + "; ".join(parts) + deleted]
    if counts.get("poses"):
        poses = ds.df("poses", columns=["video_id", "detected", "source"])
        agg = poses.groupby("source").agg(frames=("video_id", "size"), clips=("video_id", "nunique"),
                                          detected=("detected", "mean")).reset_index()
        out += ["", "poses", _table(agg)]
    return "\n".join(out)
