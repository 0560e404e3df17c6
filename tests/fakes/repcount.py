"""Fake repetition annotations: RepCount-A CSVs (TransRAC) and Fit3D ``rep_ann.json`` files.

RepCount-A CSVs are written as the real files are (TransRAC ``open_set/new_*.csv``, read from
``../shared/realdata``): a header ``,type,name,count,L1,...,L<width>`` whose first cell is empty
(pandas' index; re-saved files also carry ``Unnamed: 0``), an index column, the first frame pair
written as integers and every later frame as a float (``60.0``), the end of one repetition usually
equal to the start of the next, and every row padded with empty cells to the full width.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path


def repcount_row(frames: Sequence[int]) -> list[str]:
    """L cells as the real files write them: the first pair as integers, later frames as floats."""
    return [str(f) if i < 2 else f"{float(f):.1f}" for i, f in enumerate(frames)]


def write_repcount_csv(path: Path, rows: Sequence[tuple[str, str, Sequence[tuple[int, int]]]], *,
                       width: int | None = None, unnamed: bool = False, counts: Sequence[int] | None = None) -> Path:
    """Write a RepCount-A CSV.

    Args:
        path: File to write.
        rows: (type, name, [(start, end), ...]) per video.
        width: Number of L columns (default: twice the most repetitions, plus 2 empty ones).
        unnamed: Add the ``Unnamed: 0`` column of a pandas re-save.
        counts: The count column (default: the number of pairs).
    """
    width = width or 2 * max(len(r[2]) for r in rows) + 2
    header = ([""] + (["Unnamed: 0"] if unnamed else []) + ["type", "name", "count"]
              + [f"L{i}" for i in range(1, width + 1)])
    lines = [",".join(header)]
    for i, (kind, name, reps) in enumerate(rows):
        cells = repcount_row([f for pair in reps for f in pair])
        count = counts[i] if counts is not None else len(reps)
        lead = [str(i)] + ([str(i)] if unnamed else [])
        lines.append(",".join(lead + [kind, name, str(count)] + cells + [""] * (width - len(cells))))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def evenly(frames: int, reps: int, start: int = 0) -> list[tuple[int, int]]:
    """``reps`` back-to-back repetitions over frames ``start`` .. ``frames - 1`` (end of one = start of next)."""
    step = (frames - 1 - start) // reps
    return [(start + k * step, start + (k + 1) * step) for k in range(reps)]


def write_rep_ann(subject_dir: Path, marks: dict[str, list[int]]) -> Path:
    """Write a Fit3D ``<subject>/rep_ann.json``."""
    subject_dir.mkdir(parents=True, exist_ok=True)
    path = subject_dir / "rep_ann.json"
    path.write_text(json.dumps(marks))
    return path
