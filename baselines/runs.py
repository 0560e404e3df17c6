"""Run folders: where every trained model and counter lives, how runs are named, written and read.

A run is a folder ``$GYMDATA_HOME/runs/<run-id>/`` holding ``config.json`` (``model``, ``run_id``,
``created_at``, the data and hyper-parameters) and one of :data:`RUN_RESULTS`:

* repetition counters (``gmm``, ``poserac``): ``metrics.json`` and ``model.npz`` (numpy arrays
  only, read without pickle), written at once by :func:`save_run` (a hidden work folder renamed
  into place, so a run folder is always complete);
* networks (``vcoach``, ``resnet3d``, ``merged``, ``bilstm``): ``metrics.jsonl``, ``last.pt``
  and ``best.pt`` written during training (:func:`atomic_save`), read with
  :func:`load_checkpoint` (``torch.load(weights_only=True)``: tensors and plain containers only).

``<run-id>`` is ``<model>-<dataset or export>-<UTC yyyymmdd-HHMMSS>`` (a ``-2``, ``-3`` ... suffix
keeps it unique) unless ``--run-id`` names it; :func:`run_path` accepts an id or a folder.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import math
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gymdata import store
from gymdata.errors import InputError
from gymdata.safety import naming

if TYPE_CHECKING:
    import torch

# torch is imported where a checkpoint is read or written: the counters' runs and the commands
# that only name a run do not need it


def runs_root() -> Path:
    """``$GYMDATA_HOME/runs``."""
    return store.home() / "runs"


def run_path(run: str | Path) -> Path:
    """The folder of a run given by id (under :func:`runs_root`) or by path.

    Raises:
        InputError: If no such run exists.
    """
    for candidate in (Path(run), runs_root() / str(run)):
        if (candidate / "config.json").is_file():
            return candidate.absolute()
    root = runs_root()
    raise InputError(f"no run {str(run)!r}", hint=f"runs in {root}: {', '.join(list_runs()[-8:]) or 'none'}")


#: Files one of which a finished run holds (a folder with only config.json is a run that never trained).
RUN_RESULTS = ("model.npz", "best.pt", "last.pt")


def list_runs() -> list[str]:
    """Ids of the runs in :func:`runs_root` that hold a trained model, sorted (hidden work folders
    and folders of runs that failed before saving anything are left out)."""
    root = runs_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".") and (p / "config.json").is_file()
                  and any((p / f).is_file() for f in RUN_RESULTS))


def check_run_id(run_id: str) -> str:
    """``run_id`` if it is a plain folder name, so that a run stays inside :func:`runs_root`.

    Raises:
        InputError: On separators, '..', an absolute path or a hidden name.
    """
    from gymdata.safety import check_plain_name

    return check_plain_name(run_id, what="run id")


def new_run_id(model: str, dataset: str) -> str:
    """``<model>-<dataset>-<UTC yyyymmdd-HHMMSS>``, with a numeric suffix if that folder exists."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset)[:40]
    base = f"{model}-{stem}-{dt.datetime.now(dt.timezone.utc):%Y%m%d-%H%M%S}"
    run_id, k = base, 1
    while (runs_root() / run_id).exists():
        k += 1
        run_id = f"{base}-{k}"
    return run_id


def refuse_existing_run(run_id: str | None) -> None:
    """Check a run id asked for before any training work: a plain name, and no run of that name yet
    (a run is never replaced).

    Raises:
        InputError: If the name is not plain or the run exists.
    """
    if run_id is None:
        return
    folder = runs_root() / check_run_id(run_id)
    if folder.exists():
        raise InputError(f"run {run_id!r} exists", path=folder, hint="choose another --run-id, or remove the old run folder")


def save_run(run_id: str, config: Mapping[str, Any], metrics: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
             ) -> Path:
    """Write a run folder: ``config.json``, ``metrics.json`` and ``model.npz`` (each atomically).

    Returns:
        The run folder.
    """
    import io

    from gymdata.safety import clean_leftovers

    folder = runs_root() / check_run_id(run_id)
    if folder.exists():
        raise InputError(f"run {run_id!r} exists", path=folder, hint="choose another --run-id")
    folder.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(folder.parent)  # work folders of runs that were killed
    # the whole run is written into a hidden folder and renamed: a run folder is always complete
    tmp = folder.parent / f".{run_id}.tmp-{os.getpid()}"
    tmp.mkdir()
    try:
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        store.atomic_write_bytes(tmp / "model.npz", buf.getvalue())
        store.atomic_write_bytes(tmp / "metrics.json", json.dumps(metrics, indent=2, default=json_default).encode())
        store.atomic_write_bytes(tmp / "config.json", json.dumps(config, indent=2, default=json_default).encode())
        os.rename(tmp, folder)  # fails if a concurrent run took the name meanwhile
    except OSError as exc:
        if folder.exists() and exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise InputError(f"run {run_id!r} exists", path=folder, hint="choose another --run-id") from None
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def json_default(obj: Any) -> Any:
    """``json.dumps``' ``default=`` for run files: NumPy scalars as numbers, NaN as null."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` ``obj`` to ``path`` atomically (a checkpoint is whole or absent)."""
    import io

    # serialised in memory, written as plain bytes: a full disk is an OSError naming the file
    # (torch.save to a path reports it as a RuntimeError of its zip writer)
    buf = io.BytesIO()
    import torch

    torch.save(obj, buf)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with naming(path), open(tmp, "wb") as fh:
            fh.write(buf.getbuffer())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a full disk must not leave half a checkpoint


def read_run_config(path: Path) -> dict:
    """A run folder's ``config.json`` as a dict.

    Raises:
        InputError: If it is missing, not JSON, or not an object.
    """
    file = Path(path) / "config.json"
    try:
        config = json.loads(file.read_bytes())
    except FileNotFoundError:
        raise InputError("the run has no config.json", path=path, hint="is this a run folder?") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"config.json is damaged (not valid JSON: {exc})", path=file,
                         hint="retrain the model; a run's config.json is written by gymdata train") from None
    if not isinstance(config, dict) or not isinstance(config.get("model"), str):
        raise InputError("config.json is damaged (no model name)", path=file,
                         hint="retrain the model; a run's config.json is written by gymdata train")
    return config


def load_checkpoint(path: Path, device: str | torch.device = "cpu") -> dict:
    """A checkpoint read with ``torch.load(weights_only=True)``: tensors, numbers, strings and
    containers only, so a hostile file cannot run code while it is read.

    Raises:
        InputError: If the file is damaged, or holds other objects (a run saved by a gymdata before
            checkpoints were made safe to load, or a file that was tampered with).
    """
    import pickle  # only for its exception type: the file is read by torch's restricted unpickler

    import torch

    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only" not in str(exc).lower() or "Unsupported operand" in str(exc):  # not a checkpoint at all
            raise InputError("checkpoint is damaged (not a PyTorch checkpoint)", path=path,
                             hint="retrain the run, or restore the file from a backup") from None
        # name what was refused (torch's text goes on to suggest loading it unsafely: not repeated here)
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f"it refers to {found.group(1)}" if found else "it holds objects other than tensors"
        raise InputError(f"checkpoint is not safe to load: {what} (a run saved by an older gymdata, or a "
                         "tampered file)", path=path,
                         hint="gymdata loads checkpoints of tensors only; retrain the run with this version, "
                              "and never open an untrusted checkpoint with other tools") from None
    except (RuntimeError, EOFError, ValueError, OSError, KeyError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise
        raise InputError(f"checkpoint is damaged ({type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''})",
                         path=path, hint="retrain the run, or restore the file from a backup") from None
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
        raise InputError("checkpoint is damaged (no model weights)", path=path,
                         hint="retrain the run, or restore the file from a backup")
    return state
