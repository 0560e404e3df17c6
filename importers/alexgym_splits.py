"""The ALEX-GYM-1 authors' split, reproduced: the official split of the ``alex-gym-1`` importer.

The authors' code (``code/utils/data_processing.py``) shuffles each spreadsheet with
``df.sample(frac=1, random_state=42)`` and cuts it at ``int(0.7 n)`` and ``int(0.15 n)`` rows; we
do the same with pandas, per spreadsheet, from the row each clip came from. Rows are repetitions,
so the repetitions of one recording land in several parts: the leakage report shows it (use a
group split, ``gymdata split NAME``, to train and compare honestly).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from gymdata.store import Dataset

#: The split's name.
NAME = "alex-authors"


def authors_split(videos: pd.DataFrame) -> pd.Series | None:
    """The authors' row split of ALEX-GYM-1 clips (see the module docstring).

    The importer records each clip's spreadsheet (``extras.spreadsheet``) and its Excel row
    (``extras.spreadsheet_row``, the header being row 1); both views of a row get the row's part.
    A sheet's row count ``n`` is its largest row number, so rows the importer skipped still take
    their place in the shuffle.

    Args:
        videos: ALEX-GYM-1 clips (``video_id``, ``extras``).

    Returns:
        The part per clip, or None if no clip has a spreadsheet row.
    """
    extras = [json.loads(e) if isinstance(e, str) and e else {} for e in videos["extras"]]
    rows = pd.Series([e.get("spreadsheet_row") for e in extras], index=videos.index, dtype="Int64") - 2
    sheets = pd.Series([e.get("spreadsheet") for e in extras], index=videos.index, dtype=object)
    known = rows.notna() & sheets.notna()
    if not known.any():
        return None
    parts: dict[str, str] = {}
    for idx in videos[known].groupby(sheets[known]).groups.values():
        sheet_rows = rows.loc[idx].astype(int)
        n = int(sheet_rows.max()) + 1
        # exactly the authors' code: df.sample(frac=1, random_state=42), then int(0.7 n), int(0.15 n)
        shuffled = pd.DataFrame(index=range(n)).sample(frac=1, random_state=42).index.to_numpy()
        n_train, n_val = int(n * 0.7), int(n * 0.15)
        part_of_row = np.empty(n, dtype=object)
        part_of_row[shuffled[:n_train]] = "train"
        part_of_row[shuffled[n_train:n_train + n_val]] = "val"
        part_of_row[shuffled[n_train + n_val:]] = "test"
        for i, r in sheet_rows.items():
            parts[videos.at[i, "video_id"]] = part_of_row[r]
    return pd.Series(parts, name="part")


def official_splits(ds: Dataset | None, videos: pd.DataFrame) -> dict[str, pd.Series]:
    """``{"alex-authors": parts}`` for ALEX-GYM-1 clips with spreadsheet rows, else nothing."""
    parts = authors_split(videos)
    return {} if parts is None else {NAME: parts}
