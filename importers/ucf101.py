"""Importer for UCF-101 (action recognition; its exercise classes are useful clips of exercises).

Layout read (the official ``UCF101.rar`` and ``UCF101TrainTestSplits-RecognitionTask.zip``)::

    <root>/UCF-101/<Class>/v_<Class>_gXX_cYY.avi     (or the class folders directly in <root>)
    <root>/ucfTrainTestlist/classInd.txt             "<index> <Class>", 1-based
    <root>/ucfTrainTestlist/trainlist0{1,2,3}.txt    "<Class>/<file>.avi <index>"
    <root>/ucfTrainTestlist/testlist0{1,2,3}.txt     "<Class>/<file>.avi"

``ucfTrainTestlist`` may also sit next to the ``UCF-101`` folder given as root, or be named with
``--lists``. Lines may end in CRLF (the official files do).

What is stored:
    * one ``videos`` row per clip, ``video_id`` = the file stem (``v_PushUps_g08_c01``), ``path``
      relative to the corpus root, media probed in parallel from the container header and the first
      packet, no frame decoded (``--decode-check`` also decodes each first frame: slower, catches
      clips whose data is corrupt behind an intact header);
    * ``subject`` = the group ``gXX`` (clips of a group share actor and setting; the official folds
      hold groups out, so subject-disjoint splits match them), ``recording`` = ``<Class>/gXX_cYY``;
    * ``split`` = the clip's side in fold ``--fold`` (default 1); every fold is kept in
      ``extras.splits`` (``{"1": "train", "2": "test", "3": "train"}``), with ``extras.class_index``
      (classInd's 1-based id: classInd's ids and names are kept, not torchvision's re-sorted ones),
      ``group``, ``clip`` and ``codec``.

Classes: ``--classes exercise`` (default) imports the exercise classes (:data:`EXERCISE_CLASSES`;
note that UCF's ``Rowing`` is rowing on water); ``--classes all`` imports all 101, the others with
exercise ``other``; a comma-separated list of class names imports those.

Quirk handled: folder ``HandstandPushups`` holds files ``v_HandStandPushups_*``, and the lists name
them so; class names in file names and lists are compared case-insensitively.

Errors (one line each): missing/empty root, missing ``classInd.txt`` or a fold list, a malformed
line (file and line number), a label that contradicts classInd, an unknown class, and clips listed
in the official lists but missing on disk. An unreadable clip is reported by name and skipped.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gymdata import vocab
from gymdata.errors import InputError
from gymdata.importer import Importer, ImportOption
from gymdata.importing import ImportReport, check_root, probe_many, run_import
from gymdata.store import Transaction

if TYPE_CHECKING:
    import pandas as pd

    from gymdata.store import Dataset

CORPUS = "ucf101"
VERSION = "1"
FOLDS = ("1", "2", "3")
#: UCF-101 classes that show an exercise (classInd name -> classInd index, for reference).
EXERCISE_CLASSES = {
    "BenchPress": 10, "BodyWeightSquats": 15, "CleanAndJerk": 21, "HandstandPushups": 37, "HulaHoop": 43,
    "JumpingJack": 47, "JumpRope": 48, "Lunges": 52, "PullUps": 70, "PushUps": 72, "RopeClimbing": 75,
    "Rowing": 76, "TrampolineJumping": 94, "WallPushups": 99,
}
_CLIP = re.compile(r"^v_(?P<cls>[A-Za-z]+)_g(?P<group>\d+)_c(?P<clip>\d+)\.avi$", re.IGNORECASE)
_HINT_LISTS = "download UCF101TrainTestSplits-RecognitionTask.zip and unpack it into the root, or pass --lists"


@dataclass
class Clip:
    """One clip found on disk (paths kept as strings: pathlib is slow over 13,000 clips)."""

    path: str  # absolute
    rel: str  # relative to the class folders' parent: <Class>/<file>.avi
    cls: str
    group: int
    clip: int
    splits: dict[str, str] = field(default_factory=dict)


def find_layout(root: Path, lists: Path | None = None) -> tuple[Path, Path]:
    """The folder holding the class folders and the folder holding the split lists.

    Raises:
        InputError: If ``classInd.txt`` cannot be found.
    """
    videos = root / "UCF-101" if (root / "UCF-101").is_dir() else root
    candidates = [lists] if lists else [root / "ucfTrainTestlist", videos / "ucfTrainTestlist",
                                        root.parent / "ucfTrainTestlist"]
    for folder in candidates:
        if (folder / "classInd.txt").is_file():
            return videos, folder
    raise InputError("classInd.txt not found", path=candidates[0], hint=_HINT_LISTS)


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", path=path, hint=_HINT_LISTS) from None
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def read_class_index(path: Path) -> dict[str, int]:
    """``classInd.txt`` as class name -> 1-based index, in file order.

    Raises:
        InputError: On a line that is not ``<index> <Class>`` or a repeated index or name.
    """
    classes: dict[str, int] = {}
    for n, line in _lines(path):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise InputError(f"line {n}: expected '<index> <Class>', got {line!r}", path=path)
        index, name = int(parts[0]), parts[1]
        if name in classes or index in classes.values():
            raise InputError(f"line {n}: class {name!r} or index {index} appears twice", path=path)
        classes[name] = index
    if not classes:
        raise InputError("no classes listed", path=path, hint=_HINT_LISTS)
    return classes


def read_split_lists(folder: Path, classes: dict[str, int]) -> dict[str, tuple[str, dict[str, str]]]:
    """Fold membership from the six official lists: lower-cased path -> (path as listed, {fold: split}).

    Raises:
        InputError: On a missing list, a malformed line, an unknown class or a wrong label.
    """
    by_lower = {name.lower(): name for name in classes}
    membership: dict[str, tuple[str, dict[str, str]]] = {}
    for fold in FOLDS:
        for split in ("train", "test"):
            path = folder / f"{split}list0{fold}.txt"
            if not path.is_file():
                raise InputError(f"{split} list of fold {fold} not found", path=path, hint=_HINT_LISTS)
            for n, line in _lines(path):
                parts = line.split()
                if len(parts) != (2 if split == "train" else 1) or "/" not in parts[0]:
                    form = "'<Class>/<file>.avi <index>'" if split == "train" else "'<Class>/<file>.avi'"
                    raise InputError(f"line {n}: expected {form}, got {line!r}", path=path)
                rel = parts[0].replace("\\", "/")
                cls = by_lower.get(rel.split("/", 1)[0].lower())
                if cls is None:
                    raise InputError(f"line {n}: class of {rel!r} is not in classInd.txt", path=path)
                if split == "train" and (not parts[1].isdigit() or int(parts[1]) != classes[cls]):
                    raise InputError(f"line {n}: label {parts[1]} of {rel!r} differs from classInd's {classes[cls]}",
                                     path=path, hint="the lists and classInd.txt come from different releases?")
                membership.setdefault(rel.lower(), (rel, {}))[1][fold] = split
    return membership


def select_classes(classes: dict[str, int], spec: str) -> list[str]:
    """Class names chosen by ``--classes`` (exercise, all, or a comma-separated list).

    Raises:
        InputError: On a class name that classInd does not know.
    """
    if spec == "all":
        return list(classes)
    if spec == "exercise":
        return [c for c in classes if c in EXERCISE_CLASSES]
    by_lower = {name.lower(): name for name in classes}
    chosen = []
    for name in (s.strip() for s in spec.split(",") if s.strip()):
        if name.lower() not in by_lower:
            raise InputError(f"unknown class {name!r}", hint="use 'exercise', 'all' or class names from classInd.txt")
        chosen.append(by_lower[name.lower()])
    return chosen


def find_clips(videos: Path, chosen: list[str]) -> tuple[list[Clip], list[tuple[str, str]]]:
    """Clips of the chosen classes on disk, and (path, why) for files that are not UCF clips."""
    clips, odd = [], []
    for cls in chosen:
        folder = videos / cls
        if not folder.is_dir():
            continue  # a class with no folder has no clips; listed-but-missing clips are caught later
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name.startswith(".") or not entry.is_file():
                continue
            m = _CLIP.match(entry.name)
            if m is None or m["cls"].lower() != cls.lower():  # HandStandPushups vs HandstandPushups
                if entry.name.lower().endswith(".avi"):
                    odd.append((entry.path, f"not named v_{cls}_gXX_cYY.avi"))
                continue
            clips.append(Clip(entry.path, f"{cls}/{entry.name}", cls, int(m["group"]), int(m["clip"])))
    return clips, odd


def import_ucf101(root: str | Path, name: str, *, classes: str = "exercise", fold: str = "1",
                  lists: str | Path | None = None, decode_check: bool = False, workers: int = 2,
                  force: bool = False, progress: bool = True) -> ImportReport:
    """Import UCF-101 (see the module docstring).

    Args:
        root: Corpus root (holding ``UCF-101/`` and ``ucfTrainTestlist/``, or the class folders).
        name: Dataset to create.
        classes: ``exercise``, ``all`` or comma-separated class names.
        fold: Official fold (1, 2 or 3) whose train/test side fills the ``split`` column.
        lists: Folder of ``classInd.txt`` and the fold lists, if not found next to the clips.
        decode_check: Decode the first frame of every clip while probing.
        workers: Probing processes.
        force, progress: As for every import (:class:`gymdata.importer.Importer`).

    Returns:
        What the import did; an :class:`InputError` (see the module docstring) otherwise.
    """
    root = check_root(root, corpus="UCF-101", hint="pass the folder holding UCF-101/ and ucfTrainTestlist/")
    if fold not in FOLDS:
        raise InputError(f"unknown fold {fold!r}", hint="use 1, 2 or 3")
    videos, lists_dir = find_layout(root, Path(lists).absolute() if lists else None)
    class_index = read_class_index(lists_dir / "classInd.txt")
    membership = read_split_lists(lists_dir, class_index)
    chosen = select_classes(class_index, classes)
    clips, odd = find_clips(videos, chosen)
    on_disk = {c.rel.lower() for c in clips}
    wanted = {cls.lower() for cls in chosen}
    missing = sorted(rel for key, (rel, _) in membership.items() if key.split("/", 1)[0] in wanted
                     and key not in on_disk)
    if missing:
        raise InputError(f"{len(missing)} clip(s) named in the split lists are missing, e.g. {missing[0]}",
                         path=videos, hint="re-extract UCF101.rar into the root")
    if not clips:
        raise InputError(f"no clips of the chosen classes ({classes}) found", path=videos,
                         hint="pass the folder holding UCF-101/, or --classes all")
    for clip in clips:
        clip.splits = membership.get(clip.rel.lower(), ("", {}))[1]
    lists_files = [lists_dir / "classInd.txt"] + [lists_dir / f"{s}list0{f}.txt" for f in FOLDS
                                                  for s in ("train", "test")]

    def build(txn: Transaction, report: ImportReport) -> None:
        infos, failed = probe_many([c.path for c in clips], workers=workers, progress=progress,
                                    decode=decode_check)
        report.skipped = sorted(odd + failed)
        if not infos:
            raise InputError("none of the clips could be read", path=videos, hint="see the errors above")
        rows = []
        prefix = videos.relative_to(root).as_posix() + "/" if videos != root else ""
        exercise = {cls: vocab.normalise(cls) if cls in EXERCISE_CLASSES else "other" for cls in chosen}
        for clip in clips:
            info = infos.get(clip.path)
            if info is None:
                continue
            group = f"g{clip.group:02d}"
            rows.append({
                "video_id": clip.rel.rsplit("/", 1)[1][: -len(".avi")], "corpus": CORPUS, "path": prefix + clip.rel,
                "media_kind": "video",
                "exercise": exercise[clip.cls],
                "exercise_raw": clip.cls, "subject": group, "recording": f"{clip.cls}/{group}_c{clip.clip:02d}",
                "view": None, "fps": info.fps, "num_frames": info.num_frames, "width": info.width,
                "height": info.height, "duration": info.duration, "split": clip.splits.get(fold),
                "extras": json.dumps({"class_index": class_index[clip.cls], "group": clip.group, "clip": clip.clip,
                                      "splits": clip.splits, "codec": info.codec}),
            })
        txn.write("videos", rows)

    return run_import(name=name, corpus=CORPUS, root=root, importer="ucf101", version=VERSION,
                      inputs=[Path(c.path) for c in clips] + lists_files,
                      options={"classes": classes, "fold": fold, "decode_check": decode_check}, force=force,
                      build=build)


def official_splits(ds: Dataset | None, videos: pd.DataFrame) -> dict[str, pd.Series]:
    """The three official folds ``ucf-fold1..3``, as :func:`import_ucf101` stored them in
    ``extras["splits"]`` (``{"1": "train", ...}``)."""
    from gymdata.splits import extras_splits  # pandas: not for every import (workers import this module)

    return extras_splits(videos, lambda key: "ucf-fold" + (re.sub(r"\D", "", key) or key))


importer = Importer(
    name=CORPUS,
    help="Import UCF-101 (exercise classes by default) with all three official folds.",
    run=import_ucf101,
    options=(
        ImportOption("--classes", "'exercise' (the exercise classes), 'all' (101 classes), or comma-separated "
                     "class names.", default="exercise"),
        ImportOption("--fold", "Official fold whose train/test side fills the split column (all folds go to extras).",
                     choices=FOLDS, default="1"),
        ImportOption("--lists", "Folder of classInd.txt and the train/test lists (default: ucfTrainTestlist/ in "
                     "or next to ROOT).", type=Path, path="folder"),
        ImportOption("--decode-check", "Also decode each clip's first frame while probing (slower).", type=bool,
                     default=False),
    ),
    official_splits=official_splits,
)
