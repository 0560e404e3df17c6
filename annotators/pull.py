"""``gymdata fiftyone pull NAME``: bring the edits made in FiftyOne back into the store.

Every sample of the FiftyOne dataset carries its append-only edit log (:mod:`annotators.foapi`).
A pull replays each clip's log from its base (:func:`annotators.labels.fold`) and, for every edit
not pulled before, appends the rows that record it (:func:`annotators.labels.rows_for_edit`) with
``origin``, ``annotator`` and ``created_at`` (the edit's time), in one store transaction. Then it
adds the edits to the ledger (:mod:`annotators.history`). Rows already in the store are never
rewritten, and pulling again appends nothing: an edit is skipped when its id is in the ledger, or
when its rows are already in the table (a pull interrupted between the commit and the ledger).

FiftyOne is only read, so annotators can keep labelling during a pull; their later edits come with
the next one.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from annotators import foapi, takes
from annotators import labels as L
from gymdata import store
from gymdata.errors import GymdataError
from gymdata.labels import append_ledger, read_ledger
from gymdata.schema import LABEL_TABLES


@dataclass
class PullReport:
    """What a pull did."""

    store_name: str
    fo_name: str
    edits: int = 0
    already: int = 0
    rows: Counter = field(default_factory=Counter)
    by_annotator: Counter = field(default_factory=Counter)
    unknown_clips: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        if not self.edits:
            return [f"nothing new in FiftyOne dataset {self.fo_name!r} ({self.already} edit(s) pulled before)"]
        rows = ", ".join(f"{t} +{n}" for t, n in sorted(self.rows.items()) if n) or "no rows"
        who = ", ".join(f"{a} {n}" for a, n in self.by_annotator.most_common())
        out = [f"pulled {self.edits} edit(s) from FiftyOne dataset {self.fo_name!r} into {self.store_name!r} "
               f"in {self.seconds:.1f}s: {rows} (by {who})"]
        if self.unknown_clips:
            out.append(f"{self.unknown_clips} sample(s) with edits are no longer in the store: their edits were kept "
                       "in FiftyOne")
        return out


def _stored_keys(ds: store.Dataset) -> set[tuple]:
    """(table, video_id, annotator, created_at) of every human row: the footprint of pulled edits."""
    keys = set()
    for table in LABEL_TABLES:
        if not ds.has(table):
            continue
        df = ds.df(table, columns=["video_id", "annotator", "created_at"], filter={"origin": "human"})
        keys |= {(table, v, a, pd.Timestamp(t)) for v, a, t in zip(df["video_id"], df["annotator"], df["created_at"])}
    return keys


def pull(name: str, *, fo_name: str | None = None, database_uri: str | None = None) -> PullReport:
    """Append the FiftyOne edits of ``name`` to its store tables (see the module docstring).

    Args:
        name: Store dataset.
        fo_name: FiftyOne dataset (default ``name``).
        database_uri: MongoDB URI of a shared FiftyOne database.

    Raises:
        DatasetNotFoundError: If the store dataset or the FiftyOne dataset does not exist.
        GymdataError: If the FiftyOne dataset was pushed from another store dataset.
    """
    store.open_dataset(name)  # a missing dataset fails before anything else
    # the whole pull (ledger read, rows, ledger append) is one writer step
    with store.lock(name, action="fiftyone pull"):
        return _pull(name, fo_name=fo_name, database_uri=database_uri)


def _pull(name: str, *, fo_name: str | None, database_uri: str | None) -> PullReport:
    start = time.perf_counter()
    fo_name = fo_name or name
    ds = store.open_dataset(name)
    foapi.import_fiftyone(database_uri)
    dataset = foapi.load_fo_dataset(fo_name, store_name=name)
    owner = foapi.gymdata_info(dataset).get("store")
    if owner != name:
        raise GymdataError(f"FiftyOne dataset {fo_name!r} was pushed from store dataset {owner!r}, not {name!r}",
                           hint=f"pull it with: gymdata fiftyone pull {owner} --fo-name {fo_name}" if owner
                           else "only datasets made by 'gymdata fiftyone push' can be pulled")
    report = PullReport(name, fo_name)
    coll = dataset._sample_collection
    for doc in coll.find({takes.TAKE_FIELD: {"$exists": True}}, {"_id": 1}):  # Annotate mode on takes: to the views
        takes.adopt_outside_edits(dataset, doc["_id"])
    for doc in coll.find({takes.TAKE_FIELD: {"$exists": False}}, foapi.OUTSIDE_PROJECTION):  # ... and on clips
        if foapi.has_outside_edits(doc):
            foapi.adopt_outside_edits(dataset, doc["_id"])
    docs = list(dataset._sample_collection.find({"gymdata_log.0": {"$exists": True}},
                                                {"video_id": 1, "gymdata_base": 1, "gymdata_log": 1,
                                                 "gymdata_base_len": 1}))
    pending = {e["id"] for d in docs for e in d["gymdata_log"][d.get("gymdata_base_len") or 0:]}
    pulled = {e["id"] for e in read_ledger(ds)}
    if pending <= pulled:  # nothing new: leave the store untouched
        report.already = len(pending)
        report.seconds = time.perf_counter() - start
        return report
    entries = []
    # under the store's lock: a concurrent pull waits, then sees these rows and skips them
    with ds.transaction() as txn:
        known = set(ds.df("videos", columns=["video_id"])["video_id"])
        ledger_ids = {e["id"] for e in read_ledger(ds)}
        stored = _stored_keys(ds)
        rows: dict[str, list[dict]] = {t: [] for t in LABEL_TABLES}
        for doc in docs:
            vid, log = doc["video_id"], doc["gymdata_log"]
            if vid not in known:
                report.unknown_clips += 1
                continue
            labels = L.fold(doc.get("gymdata_base") or L.empty_labels(), [])
            for edit in log[doc.get("gymdata_base_len") or 0:]:
                before = L.fold(labels, [])
                L.apply_edit(labels, edit)
                if edit["id"] in ledger_ids:
                    report.already += 1
                    continue
                table, key, new_rows = L.rows_for_edit(vid, edit, before, labels)
                entries.append({"id": edit["id"], "fo_dataset": fo_name, "video_id": vid, "op": edit["op"],
                                "annotator": edit["annotator"], "origin": edit.get("origin", "human"),
                                "at": edit["at"], "table": table, "key": key, "rows": len(new_rows), "edit": edit})
                report.by_annotator[edit["annotator"]] += 1
                if (table, vid, edit["annotator"], pd.Timestamp(L.parse_time(edit["at"]))) in stored:
                    continue  # written by a pull that stopped before its ledger entry
                rows[table] += new_rows
                report.rows[table] += len(new_rows)
        for table, table_rows in rows.items():
            if table_rows:
                txn.append(table, table_rows)
    # after the commit: if this is lost, the next pull finds the rows and only re-adds the entries
    append_ledger(ds, entries)
    report.edits = len(entries)
    report.seconds = time.perf_counter() - start
    return report
