"""Label history in the store: the pull ledger and the current value of each label.

The label tables (``criteria``, ``scores``, ``segments``, ``penalties``) are append-only history:
a pull (:mod:`annotators.pull`) only adds rows, with ``origin='human'``, the annotator and the
time of the edit in ``created_at``. Which row is *current*:

* ``criteria``: per (video_id, criterion), the latest human row, else the latest imported row;
* ``scores``: per (video_id, name), likewise;
* ``segments``: per (video_id, kind), the rows of the latest human snapshot (every segment of that
  kind as it stood after one edit: the rows share annotator and ``created_at``), else every imported
  row; a human snapshot can be empty (all repetitions deleted), which only the ledger records;
* ``penalties``: per video_id, the same snapshot rule.

A person's label overrides the corpus's whatever the times; ``model`` rows (counters) are never
current labels. :func:`current_labels` applies these rules; filter the rows by ``created_at``
first (``as_of``) to see the labels as they stood at any past time.

The **ledger** is the dataset attachment ``fiftyone_edits.json``: every edit pulled from FiftyOne,
once, with its stable id, clip, op, annotator, time, payload and how many rows it wrote. Pulls skip
ids it already lists, which makes them idempotent.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from gymdata.errors import SchemaError
from gymdata.schema import LABEL_TABLES, TABLES
from gymdata.store import Dataset, atomic_write_bytes

LEDGER = "fiftyone_edits.json"
LEDGER_FORMAT = "gymdata.fiftyone-edits"
LEDGER_VERSION = 1
_KEYS = {"criteria": ["video_id", "criterion"], "scores": ["video_id", "name"],
         "segments": ["video_id", "kind"], "penalties": ["video_id"]}


def read_ledger(ds: Dataset) -> list[dict[str, Any]]:
    """The edits pulled into ``ds`` so far, in pull order (empty if none)."""
    path = ds.attachment(LEDGER)
    if not path.is_file():
        return []
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("format") != LEDGER_FORMAT:
        raise SchemaError(f"{LEDGER} is not a {LEDGER_FORMAT} document", path=path)
    return doc["edits"]


def append_ledger(ds: Dataset, entries: Sequence[Mapping[str, Any]]) -> None:
    """Add entries to the ledger (rewritten atomically)."""
    if not entries:
        return
    edits = read_ledger(ds) + [dict(e) for e in entries]
    doc = {"format": LEDGER_FORMAT, "version": LEDGER_VERSION, "edits": edits}
    atomic_write_bytes(ds.attachment(LEDGER), json.dumps(doc, indent=1, ensure_ascii=False, default=str).encode())


def _empty_snapshots(ledger: Iterable[Mapping[str, Any]], table: str) -> pd.DataFrame:
    """Times of human edits that left a clip's segments (of a kind) or penalties empty."""
    rows = [{"video_id": e["video_id"], "kind": e.get("key"), "created_at": pd.Timestamp(e["at"])}
            for e in ledger if e.get("table") == table and e.get("rows") == 0]
    df = pd.DataFrame(rows, columns=["video_id", "kind", "created_at"])
    if table == "penalties":
        df = df.drop(columns="kind")
    return df


def current_labels(ds: Dataset, table: str, *, video_ids: Sequence[str] | None = None,
                   as_of: dt.datetime | None = None) -> pd.DataFrame:
    """The current rows of a label table (see the module docstring for the rules).

    Args:
        ds: The store dataset.
        table: One of criteria, scores, segments, penalties.
        video_ids: Only these clips (default all).
        as_of: Ignore rows and ledger entries created after this time.

    Returns:
        A DataFrame with the table's columns, one row per current label.
    """
    if table not in LABEL_TABLES:
        raise SchemaError(f"{table!r} is not a label table", hint=f"label tables: {', '.join(LABEL_TABLES)}")
    columns = TABLES[table].schema.names
    if not ds.has(table):
        return pd.DataFrame(columns=columns)
    df = ds.df(table, filter={"video_id": list(video_ids)} if video_ids is not None else None)
    ledger = read_ledger(ds)
    if video_ids is not None:
        wanted = set(video_ids)
        ledger = [e for e in ledger if e.get("video_id") in wanted]
    if as_of is not None:
        cut = pd.Timestamp(as_of)
        df = df[df["created_at"].isna() | (df["created_at"] <= cut)]
        ledger = [e for e in ledger if pd.Timestamp(e["at"]) <= cut]
    df = df[df["origin"] != "model"].drop_duplicates().reset_index(drop=True)
    keys = _KEYS[table]
    human = df["origin"] == "human"
    if table in ("criteria", "scores"):
        order = df.assign(_h=human, _n=range(len(df))).sort_values(["_h", "created_at", "_n"], na_position="first")
        return order.groupby(keys, sort=False).tail(1).drop(columns=["_h", "_n"]).sort_values(keys).reset_index(
            drop=True)[columns]
    hum = df[human]
    latest = hum.groupby(keys)["created_at"].transform("max")
    snap = hum[hum["created_at"] == latest]
    has_human = snap[keys].drop_duplicates()
    imported = df[~human].merge(has_human, on=keys, how="left", indicator=True)
    imported = imported[imported["_merge"] == "left_only"].drop(columns="_merge")
    out = pd.concat([snap, imported], ignore_index=True)
    empty = _empty_snapshots(ledger, table)
    if len(empty):
        last_empty = empty.groupby(keys)["created_at"].max().rename("_emptied").reset_index()
        last_rows = snap.groupby(keys)["created_at"].max().rename("_rows").reset_index()
        stamp = last_empty.merge(last_rows, on=keys, how="left")
        gone = stamp[stamp["_rows"].isna() | (stamp["_emptied"] > stamp["_rows"])][keys]
        out = out.merge(gone.assign(_gone=True), on=keys, how="left")
        out = out[out["_gone"].isna()].drop(columns="_gone")
    sort = keys + (["start_frame"] if table in ("segments", "penalties") else [])
    return out.sort_values(sort, na_position="first").reset_index(drop=True)[columns]


def labels_by_clip(ds: Dataset, video_ids: Sequence[str] | None = None) -> dict[str, dict[str, list[dict]]]:
    """The current rows of every label table, grouped by clip: ``{video_id: {table: [row, ...]}}``."""
    out: dict[str, dict[str, list[dict]]] = {}
    for table in LABEL_TABLES:
        df = current_labels(ds, table, video_ids=video_ids)
        for row in df.to_dict("records"):
            out.setdefault(row["video_id"], {t: [] for t in LABEL_TABLES})[table].append(row)
    return out
