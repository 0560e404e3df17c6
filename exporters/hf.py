"""Hugging Face ``datasets``: Parquet files it loads directly, and a saved ``DatasetDict``.

One row per clip: every column of ``videos`` (``exercise`` as a ``ClassLabel`` over the
dataset's exercises, so ids agree between exports of different splits), ``media`` (the clip's
absolute location), and the clip's rows of every other table nested as lists of structs:
``criteria``, ``scores``, ``segments``, ``penalties``, ``signals`` and ``poses`` (``-o poses=false``
leaves the poses out). The label tables hold the current ground truth (imported and human labels
as :mod:`gymdata.labels` resolves them), never model predictions (``-o predictions=true`` writes
those to ``predictions/<table>.csv``). :func:`to_tables` turns an export back into the tables.

Parts become splits; ``val`` is named ``validation``, as the Hub names it. Clips without a part
go to a split ``unassigned`` (``all`` when no clip has one).

``hf-parquet``::

    OUT/data/<split>-00000-of-00001.parquet     features in the files' metadata
    OUT/README.md                               dataset card: configs -> data_files per split

    datasets.load_dataset("parquet", data_files={"train": "OUT/data/train-*.parquet", ...})
    datasets.load_dataset("OUT")                # reads the card's configs

``hf-disk``: ``DatasetDict.save_to_disk(OUT)``; ``datasets.load_from_disk(OUT)``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from exporters import Exporter, Option
from gymdata import labels
from gymdata.schema import LABEL_TABLES, TABLES
from gymdata.store import Dataset, conform

NESTED = ("criteria", "scores", "segments", "penalties", "signals", "poses")
SPLIT_NAMES = {"val": "validation"}


def _quiet(progress: bool) -> None:
    # datasets announces optional backends at INFO on import, and shows a bar per file written
    logging.getLogger("datasets").setLevel(logging.WARNING)
    import datasets

    if not progress:
        datasets.disable_progress_bars()


def _features(exercises: list[str], tables: tuple[str, ...]):
    from datasets import ClassLabel, Features, List, Value

    def value(t: pa.DataType):
        if pa.types.is_list(t):
            return List(value(t.value_type))
        return Value(str(t) if not pa.types.is_timestamp(t) else f"timestamp[{t.unit}, tz={t.tz}]")

    feats = {}
    for f in TABLES["videos"].schema:
        feats[f.name] = ClassLabel(names=exercises) if f.name == "exercise" else value(f.type)
    feats["media"] = Value("string")
    for table in tables:
        feats[table] = List({f.name: value(f.type) for f in TABLES[table].schema if f.name != "video_id"})
    return Features(feats)


def _nest(table: pa.Table, ids: list[str]) -> pa.ListArray:
    """Rows of ``table`` grouped into one list per id of ``ids`` (in order; empty when none)."""
    pos = pc.index_in(table.column("video_id"), value_set=pa.array(ids, pa.string()))
    table = table.append_column("_pos", pos).filter(pc.is_valid(pos))
    table = table.append_column("_row", pa.array(np.arange(len(table))))
    table = table.sort_by([("_pos", "ascending"), ("_row", "ascending")])
    counts = np.bincount(table.column("_pos").to_numpy(), minlength=len(ids))
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    values = table.drop_columns(["video_id", "_pos", "_row"])
    struct = pa.StructArray.from_arrays([c.combine_chunks() for c in values.columns], fields=list(values.schema))
    return pa.ListArray.from_arrays(offsets, struct)


def build_splits(ds: Dataset, videos: pd.DataFrame, *, poses: bool = True) -> dict:
    """``{split name: datasets.Dataset}`` for the selected clips (see the module docstring)."""
    from datasets import Dataset as HFDataset
    from datasets import DatasetInfo

    tables = tuple(t for t in NESTED if poses or t != "poses")
    exercises = sorted(ds.df("videos", columns=["exercise"])["exercise"].unique())
    features = _features(exercises, tables)
    videos = videos.reset_index(drop=True)
    parts = videos["split"].fillna("unassigned" if videos["split"].notna().any() else "all")
    out = {}
    for part in sorted(parts.unique(), key=lambda p: (("train", "val", "test", p).index(p), p)):
        sel = videos[parts == part]
        ids = sel["video_id"].tolist()
        columns = {f.name: pa.array(sel[f.name], f.type, from_pandas=True) for f in TABLES["videos"].schema}
        columns["exercise"] = pa.array([exercises.index(e) for e in sel["exercise"]], pa.int64())
        columns["media"] = pa.array([str(ds.resolve(c, p)) for c, p in zip(sel["corpus"], sel["path"])], pa.string())
        for table in tables:
            if not ds.has(table):
                data = TABLES[table].schema.empty_table()
            elif table in LABEL_TABLES:  # ground truth only: the current imported/human labels
                data = conform(table, labels.current(ds, table, video_ids=ids))
            else:
                data = ds.read(table, filter={"video_id": ids})
            columns[table] = _nest(data, ids)
        arrow = pa.table(columns).cast(features.arrow_schema)
        out[SPLIT_NAMES.get(part, part)] = HFDataset(arrow, info=DatasetInfo(features=features))
    return out


def to_tables(splits) -> dict[str, pa.Table]:
    """The store tables back from an export (a ``DatasetDict`` or ``{split: Dataset}``).

    The ``split`` column keeps the clips' parts as exported (``val``, not ``validation``).
    """
    videos, nested = [], {t: [] for t in NESTED}
    for part in splits.values():
        arrow = part.data.table if hasattr(part.data, "table") else part.data
        names = part.features["exercise"].names
        ids = arrow.column("video_id")
        cols = {f.name: arrow.column(f.name) for f in TABLES["videos"].schema}
        cols["exercise"] = pa.array([names[i] for i in arrow.column("exercise").to_pylist()], pa.string())
        videos.append(pa.table(cols).cast(TABLES["videos"].schema))
        for table in NESTED:
            if table not in arrow.column_names:
                continue
            lists = arrow.column(table).combine_chunks()
            flat = lists.flatten()
            lengths = pc.list_value_length(lists).fill_null(0).to_numpy()
            owner = pc.take(ids.combine_chunks(), pa.array(np.repeat(np.arange(len(lengths)), lengths)))
            cols = {"video_id": owner, **{f.name: flat.field(f.name) for f in flat.type}}
            nested[table].append(pa.table(cols).cast(TABLES[table].schema))
    out = {"videos": pa.concat_tables(videos)}
    out.update({t: pa.concat_tables(parts) for t, parts in nested.items() if parts})
    return out


def _card(splits: dict, features) -> str:
    files = "\n".join(f"  - split: {name}\n    path: data/{name}-*.parquet" for name in splits)
    sizes = ", ".join(f"{name} {len(d)}" for name, d in splits.items())
    return (f"---\nconfigs:\n- config_name: default\n  data_files:\n{files}\n---\n\n"
            "# gymdata export\n\nOne row per clip, labels nested per clip (see `exporters/hf.py` in gymdata).\n"
            f"Clips per split: {sizes}.\n\nExercise ids: {json.dumps(features['exercise'].names)}.\n")


def write_parquet(ds: Dataset, videos: pd.DataFrame, out: Path, *, workers: int = 1, progress: bool = True,
                  poses: bool = True) -> dict:
    """Write one Parquet file per split plus a dataset card."""
    _quiet(progress)
    splits = build_splits(ds, videos, poses=poses)
    (out / "data").mkdir()
    for name, part in splits.items():
        part.to_parquet(str(out / "data" / f"{name}-00000-of-00001.parquet"))
    (out / "README.md").write_text(_card(splits, next(iter(splits.values())).features))
    return {name: len(part) for name, part in splits.items()}


def write_disk(ds: Dataset, videos: pd.DataFrame, out: Path, *, workers: int = 1, progress: bool = True,
               poses: bool = True) -> dict:
    """Save a ``DatasetDict`` with typed features."""
    _quiet(progress)
    from datasets import DatasetDict

    splits = build_splits(ds, videos, poses=poses)
    DatasetDict(splits).save_to_disk(str(out))
    return {name: len(part) for name, part in splits.items()}


_POSES = Option(bool, True, "include the poses of every frame (nested per clip)")
parquet_exporter = Exporter("hf-parquet", "Parquet per split that datasets.load_dataset reads, typed features",
                            write_parquet, {"poses": _POSES})
disk_exporter = Exporter("hf-disk", "a saved datasets.DatasetDict (load_from_disk) with typed features",
                         write_disk, {"poses": _POSES})
