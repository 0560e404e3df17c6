"""Output folders: refuse any that would destroy or pollute the store or a dataset's sources.

Every command that writes a folder (exports, reports, the sample corpus) calls :func:`guard_output`
before writing. It reads the store (its home, its datasets' input roots), so it lives above
:mod:`gymdata.store`; the lower-level guards (paths, names, leftovers) are in :mod:`gymdata.safety`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from gymdata import store
from gymdata.errors import InputError


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(os.path.abspath(path)))


def protected_folders() -> list[tuple[Path, str]]:
    """Folders no output may replace: the store, and the input roots its datasets were imported from."""
    home = _real(store.home())
    out = [(home, f"the store ({home})")]
    for name in store.list_datasets():
        try:
            meta = store.Dataset(home / name).meta
        except Exception:  # a damaged dataset must not stop the guard; its folder is inside the store anyway
            continue
        for src in meta.get("sources", []):
            if src.get("root"):
                out.append((_real(src["root"]), f"the {src.get('corpus', '?')} input root of dataset {name!r}"))
    return out


def guard_output(out: str | Path, *, overwrite: bool) -> None:
    """Refuse an output folder that would destroy or pollute data.

    Always refused: the store (``GYMDATA_HOME``) and any folder inside it, except a folder inside one
    of the store's own output folders ``exports/`` and ``reports/`` (:data:`gymdata.store.OUTPUT_FOLDERS`,
    where ``gymdata demo`` writes; no dataset can take their names). With ``overwrite`` also
    refused: a folder holding the store, an input root of a dataset (or a folder inside or holding
    one: replacing it deletes source files), and any folder that holds a dataset (``dataset.json``).

    Raises:
        InputError: Naming the folder and why.
    """
    target = _real(out)
    home = _real(store.home())
    outputs = [home / folder for folder in store.OUTPUT_FOLDERS]
    if _is_within(target, home) and not any(target != f and _is_within(target, f) for f in outputs):
        where = "the store" if target == home else "inside the store"
        raise InputError(f"output folder is {where} ({home})", path=out,
                         hint=f"write exports and samples outside GYMDATA_HOME, or into a folder under {outputs[0]}")
    if not overwrite:
        return  # nothing existing is replaced (the caller refuses an existing OUT)
    refuse = "choose another OUT; --overwrite only replaces earlier outputs"
    if _is_within(home, target):
        raise InputError(f"refusing to overwrite a folder holding the store ({home})", path=out, hint=refuse)
    for folder, what in protected_folders()[1:]:
        if _is_within(target, folder) or _is_within(folder, target):
            relation = "is" if target == folder else "is inside" if _is_within(target, folder) else "holds"
            raise InputError(f"refusing to overwrite: the folder {relation} {what}", path=out, hint=refuse)
    if target.is_dir():
        holder = next(_datasets_under(target), None)
        if holder is not None:
            raise InputError(f"refusing to overwrite a folder that holds a dataset ({holder})", path=out,
                             hint=refuse)


def _datasets_under(folder: Path, depth: int = 3) -> Iterable[Path]:
    """``dataset.json`` files at most ``depth`` levels below ``folder`` (a shallow scan: cheap on big trees)."""
    level = [folder]
    for _ in range(depth):
        nxt = []
        for d in level:
            if (d / "dataset.json").is_file():
                yield d / "dataset.json"
            try:
                nxt += [c for c in d.iterdir() if c.is_dir() and not c.is_symlink()]
            except OSError:
                continue
        level = nxt
