"""The RepCount-A annotation CSV: ``,type,name,count,L1,L2,...`` (read by :mod:`importers.repcount`).

Written by the sample generator (``videos/repcount.csv``) and the ``repcount`` exporter
(``annotation/<part>.csv``). One row per video: a running index, the exercise (``type``), the video's
file name, the repetition count, then the first and last frame of each repetition (0-based,
inclusive) in ``L1``, ``L2``, ...; shorter rows are padded with empty cells to the widest one.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path


def write_annotation(path: str | Path, rows: Sequence[Sequence]) -> None:
    """Write one annotation CSV.

    Args:
        path: The CSV file.
        rows: ``[type, name, count, *bounds]`` per video, ``bounds`` the start and end frame of each
            repetition in order.
    """
    width = max((len(r) for r in rows), default=3) - 3
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["", "type", "name", "count", *(f"L{k + 1}" for k in range(width))])
        writer.writerows([i, *r, *[""] * (width + 3 - len(r))] for i, r in enumerate(rows))
