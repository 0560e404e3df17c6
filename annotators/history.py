"""Label history as the annotators use it: a thin view on :mod:`gymdata.labels`, the one owner.

The rule that says which label rows are current (a person's decision wins over the corpus, model
rows are predictions, deletions are ledger entries, ``as_of``) lives in :mod:`gymdata.labels`;
this module only re-exports it under the names the FiftyOne push and pull have always used.
The **ledger** is the dataset attachment ``fiftyone_edits.json``: every edit pulled from FiftyOne,
once, with its stable id, clip, op, annotator, time, payload and how many rows it wrote. Pulls skip
ids it already lists, which makes them idempotent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from gymdata.labels import LEDGER, LEDGER_FORMAT, LEDGER_VERSION, append_ledger, current, current_by_clip, read_ledger
from gymdata.store import Dataset

__all__ = ["LEDGER", "LEDGER_FORMAT", "LEDGER_VERSION", "append_ledger", "current_labels", "labels_by_clip",
           "read_ledger"]


def current_labels(ds: Dataset, table: str, *, video_ids: Sequence[str] | None = None,
                   as_of: dt.datetime | None = None) -> pd.DataFrame:
    """The current ground-truth rows of a label table: :func:`gymdata.labels.current`."""
    return current(ds, table, video_ids=video_ids, as_of=as_of)


def labels_by_clip(ds: Dataset, video_ids: Sequence[str] | None = None) -> dict[str, dict[str, list[dict]]]:
    """The current rows of every label table, grouped by clip: :func:`gymdata.labels.current_by_clip`."""
    return current_by_clip(ds, video_ids)
