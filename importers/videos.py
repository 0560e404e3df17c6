"""Importer for a user's own videos: a folder of video files, optionally with score CSVs.

Recognised layouts (those of the two exercise-scoring projects):

* ``<root>/exercise_scores.csv`` with header ``relative_path,exercise_type,score``;
* ``<root>/<exercise>_scores.csv`` (e.g. ``squat_scores.csv``) with header ``relative_path,score``;
* no CSV: every video under ``<root>``, the exercise taken from its first folder name
  (``squats_train/clip.mp4`` -> squat, split train).

Paths in the CSVs are relative to ``<root>``; scores are on a 0-100 scale. When CSVs exist, only
the videos they list are imported. A ``--meta`` CSV (``relative_path`` plus any of ``subject``,
``view``, ``recording``, ``split``) adds what the scoring layouts do not carry. Media are probed in
parallel; a corrupt or unreadable file is reported by name and skipped.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from pathlib import Path

from gymdata import vocab
from gymdata.errors import InputError
from gymdata.importer import Importer, ImportOption
from gymdata.importing import ImportReport, check_root, find_videos, probe_many, run_import
from gymdata.safety import inside
from gymdata.store import Transaction, now

log = logging.getLogger("gymdata")

CORPUS = "videos"
VERSION = "1"
_SPLIT_SUFFIX = re.compile(r"[_-](train|test|val|valid|validation)$", re.I)
_META_COLUMNS = ("subject", "view", "recording", "split")


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            return [h.strip() for h in reader.fieldnames or []], rows
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read CSV: {exc}", path=path, hint="save it as UTF-8 CSV") from None


def _score(text: str, path: Path, line: int) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError(f"line {line}: score {text!r} is not a number", path=path,
                         hint="scores are numbers from 0 to 100") from None
    if not 0 <= value <= 100:
        raise InputError(f"line {line}: score {value:g} is outside 0-100", path=path,
                         hint="scores are on a 0-100 scale; rescale the column") from None
    return value


def _folder_exercise(rel: Path, where: Path) -> tuple[str, str, str | None]:
    """(exercise, raw name, split) from the first folder of a relative path."""
    if len(rel.parts) < 2:
        raise InputError("cannot tell the exercise of a video outside an exercise folder", path=where,
                         hint="put videos in folders named after the exercise, add a score CSV, or pass --exercise")
    raw = rel.parts[0]
    m = _SPLIT_SUFFIX.search(raw)
    split = {"valid": "val", "validation": "val"}.get(m.group(1).lower(), m.group(1).lower()) if m else None
    name = _SPLIT_SUFFIX.sub("", raw)
    return vocab.normalise(name, where=where), raw, split


def read_score_csvs(root: Path) -> dict[str, dict]:
    """Entries by relative path from the score CSVs in ``root`` (empty if there are none).

    Raises:
        InputError: On a wrong header, a bad score or an unknown exercise, naming the file and line.
    """
    entries: dict[str, dict] = {}
    for path in sorted(root.glob("*.csv")):
        if not path.name.endswith("_scores.csv"):
            continue
        header, rows = _read_csv(path)
        if header == ["relative_path", "exercise_type", "score"]:
            fixed = None
        elif header == ["relative_path", "score"]:
            fixed = path.name[: -len("_scores.csv")]
            vocab.normalise(fixed, where=path)
        else:
            raise InputError(f"unexpected header {','.join(header)!r}", path=path,
                             hint="expected 'relative_path,exercise_type,score' or 'relative_path,score'")
        for line, row in enumerate(rows, start=2):
            raw = fixed or (row.get("exercise_type") or "").strip()
            rel = (row.get("relative_path") or "").strip()
            if not rel:
                raise InputError(f"line {line}: empty relative_path", path=path)
            # kept inside the root: '../x.mp4' or '/etc/passwd' in a CSV is never opened
            rel = inside(root, rel, where=f"{path}:{line}").relative_to(root).as_posix()
            entry = {
                "exercise": vocab.normalise(raw, where=f"{path}:{line}"),
                "exercise_raw": raw,
                "score": _score(row.get("score"), path, line),
                "csv": path.name,
                "line": line,
            }
            seen = entries.get(rel)
            if seen is not None:
                if (seen["exercise"], seen["score"]) != (entry["exercise"], entry["score"]):
                    raise InputError(f"{rel} is listed twice with different labels: {seen['csv']} line "
                                     f"{seen['line']} ({seen['exercise']}, {seen['score']:g}) and {path.name} line "
                                     f"{line} ({entry['exercise']}, {entry['score']:g})", path=path,
                                     hint="keep one row per video")
                log.info("note: %s line %d repeats %s line %d; the duplicate is ignored", path.name, line,
                         seen["csv"], seen["line"])
                continue
            entries[rel] = entry
    return entries


def read_meta(path: Path, root: Path | None = None) -> dict[str, dict]:
    """The ``--meta`` sidecar: extra columns by relative path (each kept inside ``root`` when given).

    Raises:
        InputError: On a wrong header, an empty path or a path that leaves ``root``.
    """
    header, rows = _read_csv(path)
    if "relative_path" not in header or not set(header) & set(_META_COLUMNS):
        raise InputError(f"unexpected header {','.join(header)!r}", path=path,
                         hint=f"expected relative_path and any of {', '.join(_META_COLUMNS)}")
    out = {}
    for line, r in enumerate(rows, start=2):
        rel = (r.get("relative_path") or "").strip()
        if not rel:
            raise InputError(f"line {line}: empty relative_path", path=path)
        if root is not None:
            rel = inside(root, rel, where=f"{path}:{line}").relative_to(root).as_posix()
        out[rel] = {k: (r.get(k) or "").strip() or None for k in _META_COLUMNS}
    return out


def import_videos(root: str | Path, name: str, *, meta: str | Path | None = None, exercise: str | None = None,
                  workers: int = 2, force: bool = False, progress: bool = True) -> ImportReport:
    """Import a folder of videos (see the module docstring).

    Args:
        root: The folder.
        name: Dataset to create.
        meta: Optional CSV with subject/view/recording/split per relative path.
        exercise: Use this exercise for every video (overrides folders and CSVs).
        workers: Probing processes.
        force: Re-import even if up to date.
        progress: Show a progress bar.

    Raises:
        InputError: Missing or empty root, bad CSV, unknown exercise, or no readable video.
    """
    root = check_root(root, corpus="videos", hint="pass the folder that holds your videos")
    fixed = vocab.normalise(exercise) if exercise else None
    scored = read_score_csvs(root)
    extra = read_meta(Path(meta), root) if meta else {}
    if scored:
        listed = sorted(scored)
        missing = [r for r in listed if not (root / r).is_file()]
        paths = [root / r for r in listed if (root / r).is_file()]
    else:
        missing, paths = [], find_videos(root)
    if not paths:
        raise InputError("no video files found", path=root,
                         hint="expected .mp4/.avi/.mov/... files, or a *_scores.csv listing them")
    entries = {}
    for path in paths:  # resolve every exercise before any probing: fail fast on unknown names
        rel = path.relative_to(root).as_posix()
        entry = dict(scored.get(rel, {}))
        split = None
        if fixed:
            entry.update(exercise=fixed, exercise_raw=exercise)
        elif "exercise" not in entry:
            ex, raw, split = _folder_exercise(Path(rel), path)
            entry.update(exercise=ex, exercise_raw=raw)
        if split is None and len(Path(rel).parts) > 1:
            m = _SPLIT_SUFFIX.search(Path(rel).parts[0])
            split = m.group(1).lower() if m else None
        entry["split"] = split
        entries[rel] = entry
    inputs = paths + sorted(root.glob("*_scores.csv")) + ([Path(meta)] if meta else [])

    def build(txn: Transaction, report: ImportReport) -> None:
        infos, failed = probe_many(paths, workers=workers, progress=progress)
        report.skipped = [(str(root / r), "listed in a score CSV but not found") for r in missing] + failed
        if not infos:
            # the reasons in the error itself: the per-file report is printed only after a success
            reasons = "; ".join((why if why.startswith(p) else f"{p}: {why}").replace(f"{root}/", "")
                                for p, why in report.skipped[:3])
            more = f"; and {len(report.skipped) - 3} more" if len(report.skipped) > 3 else ""
            raise InputError(f"none of the videos could be read ({len(report.skipped)} tried): {reasons}{more}",
                             path=root, hint="fix or remove the files listed, then import again")
        videos, scores, stamp = [], [], now()
        for path, info in sorted(infos.items()):
            rel = path.relative_to(root).as_posix()
            entry, more = entries[rel], extra.get(rel, {})
            vid = rel.rsplit(".", 1)[0]
            videos.append({
                "video_id": vid, "corpus": CORPUS, "path": rel, "media_kind": "video",
                "exercise": entry["exercise"], "exercise_raw": entry["exercise_raw"],
                "subject": more.get("subject"), "recording": more.get("recording") or vid,
                "view": more.get("view"), "fps": info.fps, "num_frames": info.num_frames,
                "width": info.width, "height": info.height, "duration": info.duration,
                "split": more.get("split") or entry.get("split"),
                "extras": json.dumps({"codec": info.codec}),
            })
            if "score" in entry:
                scores.append({"video_id": vid, "name": "quality", "value": entry["score"], "scale_min": 0.0,
                               "scale_max": 100.0, "origin": "imported", "annotator": f"csv:{entry['csv']}",
                               "created_at": stamp})
        txn.write("videos", videos)
        txn.write("scores", scores)

    return run_import(name=name, corpus=CORPUS, root=root, importer="videos", version=VERSION, inputs=inputs,
                      options={"meta": str(meta) if meta else None, "exercise": exercise}, force=force, build=build)


importer = Importer(
    name=CORPUS,
    help="Import a folder of your own videos (with optional score CSVs).",
    run=import_videos,
    options=(
        ImportOption("--meta", "CSV with relative_path and any of subject, view, recording, split.", type=Path,
                     path="file"),
        ImportOption("--exercise", "Exercise of every video (default: from the CSV or the folder name)."),
    ),
)
