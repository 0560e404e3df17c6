"""Training the baselines' networks: batches from an ``arrays`` export, the loop, and setting up
(or resuming) a run.

A network's run lives in ``$GYMDATA_HOME/runs/<run-id>/`` (see :mod:`baselines.runs`;
``<run-id>`` = ``<model>-<export folder>-<UTC time>`` unless ``--run-id`` names it)::

    config.json     model, module, hyper-parameters, the export's label space, device, versions
    metrics.jsonl   one JSON object per epoch: losses, validation metrics, learning rate, seconds
    last.pt         model + optimiser + scheduler + early-stopping state + RNG states (resume)
    best.pt         the model of the epoch with the best monitored value
    curves.png      training curves
    eval-<part>.json / eval-<part>.txt   metrics of ``gymdata evaluate`` (written after training too)

The loop (:func:`fit`): Adam, ``ReduceLROnPlateau`` on the validation loss (patience 5, factor
0.5), early stopping (patience 10) and the best checkpoint on the validation metric (Hamming loss
as ALEX-GYM-1 stops on validation accuracy, score MAE as the scoring projects keep the best
validation MAE; ``--monitor loss`` for the loss), gradient-norm clipping, seeded (Python, NumPy,
torch, the shuffling order of every epoch), bf16 autocast on CUDA, CPU when no GPU. Shuffling is seeded per
epoch and RNG states are checkpointed at epoch ends, so an interrupted run resumed with
``--resume RUN`` ends with the same weights as one that never stopped (bit for bit on CPU).

The networks and their loss are in :mod:`baselines.nets`, the data reader
(:class:`gymdata.arrays.ExportUnits`) in the core, loading and evaluating runs in
:mod:`baselines.evaluation`, the ``gymdata train MODEL`` options in :mod:`baselines.cli`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
import os
import random
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from baselines.runs import (RUN_RESULTS, atomic_save, check_run_id, load_checkpoint, new_run_id, read_run_config,
                            run_path, runs_root)
from baselines.metrics import Predictions, evaluate
from baselines.nets import LabelSpace, Net, model_inputs, multitask_loss, own_row
from gymdata.arrays import ExportUnits, read_clips, read_meta
from gymdata.errors import InputError

log = logging.getLogger("gymdata")

#: What the loop checkpoints and restores; bump when the layout of ``last.pt`` changes.
CHECKPOINT_VERSION = 1


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------

@dataclass
class TrainConfig:
    """Hyper-parameters of the loop (the model's own live in ``params``)."""

    epochs: int = 100
    batch_size: int = 16
    lr: float = 5e-4
    weight_decay: float = 0.0
    lr_patience: int = 5
    lr_factor: float = 0.5
    stop_patience: int = 10
    clip_grad: float = 1.0
    seed: int = 0
    device: str = "auto"
    workers: int | None = None
    amp: bool = True
    exercise_weight: float = 1.0
    monitor: str = "metric"


def pick_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA when available, else CPU.

    Raises:
        InputError: If CUDA is asked for and there is none.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda, but torch sees no CUDA device", hint="use --device cpu or auto")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (every device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def autocast(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA; nothing elsewhere (CPU runs stay in float32)."""
    if device.type == "cuda" and enabled:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class BatchLoader:
    """Batches of an :class:`ExportUnits`, in a seeded order, read ahead by a pool of threads.

    Reading a batch is a gather from memory-mapped arrays (NumPy copies without holding the GIL)
    and, on CUDA, a copy into pinned memory, so threads overlap it with the GPU's work without
    worker processes, their start-up cost per epoch, or shared-memory limits.

    Args:
        data: The units.
        batch_size: Units per batch.
        shuffle: Shuffle; the order depends on ``seed`` and ``epoch`` only (resumable).
        workers: Reader threads (0: read each batch when it is needed).
        pin: Copy batches into pinned memory (for asynchronous host-to-GPU copies).
        depth: Batches read ahead (default ``2 * workers``).
    """

    def __init__(self, data: ExportUnits, batch_size: int, *, shuffle: bool, seed: int = 0, epoch: int = 0,
                 workers: int = 0, pin: bool = False, depth: int | None = None):
        self.data, self.batch_size, self.shuffle = data, batch_size, shuffle
        self.seed, self.epoch, self.workers, self.pin = seed, epoch, workers, pin
        self.depth = depth or max(2 * workers, 1)

    def batches(self) -> list[np.ndarray]:
        """The unit indices of every batch, in order."""
        n = len(self.data)
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(n, generator=gen).numpy()
        else:
            order = np.arange(n)
        out = [order[i:i + self.batch_size] for i in range(0, n, self.batch_size)]
        if self.shuffle and len(out) > 1 and len(out[-1]) == 1:
            out.pop()  # a batch of one sample would break BatchNorm in training
        return out

    def __len__(self) -> int:
        return len(self.batches())

    def _load(self, idx: np.ndarray) -> dict[str, torch.Tensor]:
        batch = self.data.__getitems__(idx)
        return {k: v.pin_memory() for k, v in batch.items()} if self.pin else batch

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        batches = self.batches()
        if not self.workers:
            yield from map(self._load, batches)
            return
        with ThreadPoolExecutor(self.workers, thread_name_prefix="gymdata-loader") as pool:
            pending = deque(pool.submit(self._load, b) for b in batches[:self.depth])
            upcoming = iter(batches[self.depth:])
            while pending:
                batch = pending.popleft().result()
                nxt = next(upcoming, None)
                if nxt is not None:
                    pending.append(pool.submit(self._load, nxt))
                yield batch


def make_loader(data: ExportUnits, batch_size: int, *, shuffle: bool, device: torch.device, workers: int | None,
                seed: int = 0, epoch: int = 0) -> BatchLoader:
    """A :class:`BatchLoader` for ``device`` (default 6 reader threads on CUDA, none on CPU)."""
    if workers is None:
        workers = min(6, os.cpu_count() or 1) if device.type == "cuda" else 0
    return BatchLoader(data, batch_size, shuffle=shuffle, seed=seed, epoch=epoch, workers=workers,
                       pin=device.type == "cuda")


def _rng_state(device: torch.device) -> dict:
    # only tensors, numbers, strings and containers: what torch.load(weights_only=True) accepts
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "gauss": float(gauss)}}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict, device: torch.device) -> None:
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def train_step(model: Net, batch: dict, optimizer: torch.optim.Optimizer, device: torch.device,
               cfg: TrainConfig) -> float:
    """One optimisation step on a batch; returns its loss."""
    inputs = model_inputs(batch, model.input_names, device)
    with autocast(device, cfg.amp):
        out = model(*inputs)
    loss = multitask_loss(out, batch, exercise_weight=cfg.exercise_weight)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.clip_grad > 0:
        nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
    optimizer.step()
    return float(loss.detach())


@torch.no_grad()
def predict(model: Net, data: ExportUnits, device: torch.device, *, batch_size: int = 32,
            workers: int | None = 0, amp: bool = True) -> tuple[Predictions, float]:
    """Run ``model`` over ``data``; returns the predictions (criteria of each sample's true
    exercise, exercise probabilities, scores on 0..100) and the mean loss."""
    model.eval()
    parts: dict[str, list[np.ndarray]] = {}
    losses, weights = [], []
    for batch in make_loader(data, batch_size, shuffle=False, device=device, workers=workers):
        inputs = model_inputs(batch, model.input_names, device)
        with autocast(device, amp):
            out = model(*inputs)
        losses.append(float(multitask_loss(out, batch)))
        weights.append(len(batch["index"]))
        exercise = batch["exercise"].to(device)
        keep = {"exercise": batch["exercise"]}
        if "criteria" in out:
            keep.update(criteria_prob=torch.sigmoid(own_row(out["criteria"].float(), exercise)),
                        criteria_true=batch["criteria"], criteria_mask=batch["criteria_mask"])
        if "exercise" in out:
            keep["exercise_prob"] = torch.softmax(out["exercise"].float(), dim=-1)
        if "score" in out:
            keep.update(score_pred=out["score"].float() * 100, score_true=batch["score"] * 100)
        for k, v in keep.items():
            parts.setdefault(k, []).append(v.cpu().numpy())
    joined = {k: np.concatenate(v) for k, v in parts.items()}
    loss = float(np.average(losses, weights=weights)) if losses else math.nan
    return Predictions(units=list(data.units), **joined), loss


def primary_metric(report: dict) -> tuple[str, float]:
    """The headline number of an evaluation: Hamming loss, else score MAE, else exercise error."""
    row = report["overall"]
    for key in ("hamming_loss", "mae"):
        if key in row:
            return key, row[key]
    return "exercise_error", 1 - row.get("exercise_accuracy", math.nan)


def fit(model: Net, run: Path, train: ExportUnits, val: ExportUnits | None, cfg: TrainConfig, space: LabelSpace, *,
        param_groups: list[dict] | None = None, resume: bool = False) -> dict:
    """Train ``model`` into ``run`` (see the module docstring); returns the last epoch's record.

    Args:
        model: The network.
        run: The run folder (holding config.json).
        train: Training units.
        val: Validation units (None: the training loss is monitored instead).
        cfg: Loop settings.
        space: Label space (for the validation metrics).
        param_groups: Optimiser parameter groups (default: every trainable parameter at ``cfg.lr``).
        resume: Continue from ``run/last.pt``.
    """
    device = pick_device(cfg.device)
    seed_everything(cfg.seed)
    model.to(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick its fastest kernels
        for module in model.modules():  # the 3D convolutions' fast layout on GPUs
            if isinstance(module, nn.Conv3d):
                module.to(memory_format=torch.channels_last_3d)
    groups = param_groups or [{"params": [p for p in model.parameters() if p.requires_grad]}]
    optimizer = torch.optim.Adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=cfg.lr_factor,
                                                           patience=cfg.lr_patience)
    start, best, bad = 0, (math.inf, math.inf), 0
    last_path = run / "last.pt"
    if resume:
        if not last_path.is_file():
            raise InputError("the run has no last.pt to resume from", path=run)
        state = load_checkpoint(last_path, device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start, best, bad = state["epoch"] + 1, state["best"], state["bad_epochs"]
        best = tuple(best) if isinstance(best, (list, tuple)) else (best, best)  # runs that monitored one value
        _set_rng_state(state["rng"], device)
        if bad >= cfg.stop_patience:
            log.info("run %s had already stopped early at epoch %d", run.name, state["epoch"] + 1)
            return state.get("record", {})
    record: dict = {}
    try:
        for epoch in range(start, cfg.epochs):
            t0 = time.perf_counter()
            model.train()
            total, seen = 0.0, 0
            for batch in make_loader(train, cfg.batch_size, shuffle=True, device=device, workers=cfg.workers,
                                     seed=cfg.seed, epoch=epoch):
                total += train_step(model, batch, optimizer, device, cfg) * len(batch["index"])
                seen += len(batch["index"])
            train_s = time.perf_counter() - t0
            record = {"epoch": epoch + 1, "train_loss": total / max(seen, 1), "lr": optimizer.param_groups[0]["lr"],
                      "train_seconds": round(train_s, 3), "train_samples_per_s": round(seen / max(train_s, 1e-9), 2)}
            monitored = (record["train_loss"],) * 2
            if val is not None:
                preds, val_loss = predict(model, val, device, batch_size=cfg.batch_size * 2, workers=cfg.workers,
                                          amp=cfg.amp)
                name, value = primary_metric(evaluate(preds, space.exercises, space.criteria))
                record.update(val_loss=val_loss, **{f"val_{name}": value})
                # (what decides, what breaks ties): the metric as ALEX-GYM-1 and the scoring projects
                # do (validation accuracy, validation MAE), or the loss
                use_metric = cfg.monitor == "metric" and math.isfinite(value)
                monitored = (value, val_loss) if use_metric else (val_loss, val_loss)
            scheduler.step(monitored[1])  # the learning rate follows the loss
            improved = monitored[0] < best[0] - 1e-9 or (monitored[0] <= best[0] + 1e-9 and monitored[1] < best[1])
            best, bad = (monitored, 0) if improved else (best, bad + 1)
            record.update(best=improved, seconds=round(time.perf_counter() - t0, 3))
            if improved:
                atomic_save({"model": model.state_dict(), "epoch": epoch, "monitored": list(monitored)},
                             run / "best.pt")
            atomic_save({"version": CHECKPOINT_VERSION, "model": model.state_dict(),
                          "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "epoch": epoch,
                          "best": list(best), "bad_epochs": bad, "rng": _rng_state(device), "record": record}, last_path)
            with open(run / "metrics.jsonl", "a") as fh:
                fh.write(json.dumps(record) + "\n")
            log.info("epoch %d/%d  %s", epoch + 1, cfg.epochs,
                     "  ".join(f"{k} {v:.4g}" for k, v in record.items() if isinstance(v, float)))
            if bad >= cfg.stop_patience:
                log.info("early stop: no improvement for %d epochs", bad)
                break
    finally:
        plot_curves(run)  # once at the end (matplotlib is slow), also when interrupted
    return record


def read_metrics(run: Path) -> list[dict]:
    """The epochs recorded in ``run/metrics.jsonl``, the last record of each epoch winning
    (a resumed run may repeat the epoch it was interrupted in)."""
    path = run / "metrics.jsonl"
    if not path.is_file():
        return []
    by_epoch = {}
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            by_epoch[rec["epoch"]] = rec
    return [by_epoch[k] for k in sorted(by_epoch)]


def plot_curves(run: Path) -> Path | None:
    """Write ``run/curves.png``: losses, the validation metric and the learning rate per epoch."""
    records = read_metrics(run)
    if not records:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in records]
    metric = next((k for k in records[-1] if k.startswith("val_") and k != "val_loss"), None)
    fig, axes = plt.subplots(1, 3 if metric else 2, figsize=(13 if metric else 9, 3.6))
    axes[0].plot(epochs, [r["train_loss"] for r in records], marker=".", label="train")
    if "val_loss" in records[-1]:
        axes[0].plot(epochs, [r.get("val_loss", math.nan) for r in records], marker=".", label="validation")
    best = [r["epoch"] for r in records if r.get("best")]
    if best:
        axes[0].axvline(best[-1], color="grey", linestyle=":", label=f"best (epoch {best[-1]})")
    axes[0].set(title="loss", xlabel="epoch")
    axes[0].legend()
    if metric:
        axes[1].plot(epochs, [r.get(metric, math.nan) for r in records], marker=".", color="tab:green")
        axes[1].set(title=metric.replace("_", " "), xlabel="epoch")
    axes[-1].plot(epochs, [r["lr"] for r in records], marker=".", color="tab:red")
    axes[-1].set(title="learning rate", xlabel="epoch", yscale="log")
    fig.suptitle(run.name, fontsize=9)
    fig.tight_layout()
    out = run / "curves.png"
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


# --------------------------------------------------------------------------------------------
# Setting up a run and opening its parts
# --------------------------------------------------------------------------------------------

def parse_views(text: str) -> list[str] | None:
    """``"frontal,lateral"`` -> the list; ``"any"`` -> None (every clip alone)."""
    if text.strip().lower() in ("any", "all", "none", ""):
        return None
    return [v.strip() for v in text.split(",") if v.strip()]


def loop_config(config: dict) -> TrainConfig:
    """The :class:`TrainConfig` stored in a run's config."""
    return TrainConfig(**config["train"])


def start_run(model_name: str, module: str, opts: dict, params: dict, *, video: bool, pose: bool) -> dict:
    """Create the run folder and its config from a train command's options, or load the config
    of the run to resume. Returns the config (``config["run_dir"]`` is the folder)."""
    if opts.get("resume"):
        run = run_path(opts["resume"])
        config = read_run_config(run)
        if config["model"] != model_name:
            raise InputError(f"run {run.name} is a {config['model']} run, not {model_name}", path=run)
        if opts.get("epochs"):
            config["train"]["epochs"] = opts["epochs"]
        for key in ("data", "val_data", "test_data"):  # the same export may live elsewhere now
            if opts.get(key):
                config[key] = str(Path(opts[key]).absolute())
        (run / "config.json").write_text(json.dumps(config, indent=2))
        config["run_dir"] = str(run)
        return config
    if not opts.get("data"):
        raise InputError("--data EXPORT is required", hint="make one with: gymdata export NAME --format arrays OUT")
    data = Path(opts["data"]).absolute()
    meta = read_meta(data)
    parts = [p.strip() for p in opts["parts"].split(",")]
    if len(parts) != 3:
        raise InputError(f"--parts {opts['parts']!r}: give three names: train,val,test")
    space = LabelSpace.from_meta(meta)
    train = TrainConfig(epochs=opts.get("epochs") or 100, batch_size=opts["batch_size"], lr=opts["lr"],
                        stop_patience=opts["patience"], monitor=opts["monitor"], clip_grad=opts["clip_grad"],
                        seed=opts["seed"],
                        device=opts["device"], workers=opts["workers"], amp=not opts["no_amp"])
    reps = read_clips(data, columns=["rep_index"])["rep_index"]
    run_id = check_run_id(opts["run_id"]) if opts.get("run_id") else new_run_id(model_name, data.name)
    run = runs_root() / run_id
    if run.exists():
        if not any((run / f).is_file() for f in RUN_RESULTS):  # killed before its first checkpoint
            raise InputError(f"run {run_id!r} exists but never saved a checkpoint (it was killed)", path=run,
                             hint="remove that folder, or choose another --run-id")
        raise InputError(f"run {run_id!r} exists", path=run, hint="choose another --run-id, or --resume it")
    run.mkdir(parents=True)
    config = {
        "model": model_name, "module": module, "run_id": run_id,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "data": str(data), "val_data": str(Path(opts["val_data"]).absolute()) if opts.get("val_data") else None,
        "test_data": str(Path(opts["test_data"]).absolute()) if opts.get("test_data") else None,
        "parts": parts, "exercises": list(opts.get("exercises") or []) or None,
        "views": parse_views(opts["views"]), "inputs": {"video": video, "pose": pose},
        "frames": meta["frames"], "size": meta["size"], "space": space.to_json(),
        # what one sample is: a single repetition (ALEX-GYM-1 rows) or a whole clip
        "sample_unit": "repetition" if reps.notna().mean() > 0.5 else "clip",
        "train": train.__dict__, "params": params,
        "versions": {"torch": torch.__version__, "device": str(pick_device(train.device))},
    }
    (run / "config.json").write_text(json.dumps(config, indent=2))
    config["run_dir"] = str(run)
    return config


def open_part(config: dict, which: int, *, data: str | Path | None = None) -> ExportUnits | None:
    """The units of part ``which`` (0 train, 1 val, 2 test) of a run's data, or None if the
    export has no such part.

    Raises:
        InputError: If the export is missing or has other exercises or criteria than the run.
    """
    key = ("data", "val_data", "test_data")[which]
    path = Path(data or config.get(key) or config["data"])
    part = config["parts"][which]
    mine, theirs = LabelSpace.from_meta(read_meta(path)), LabelSpace.from_meta(config["space"])
    if (mine.exercises, mine.criteria) != (theirs.exercises, theirs.criteria):
        raise InputError("this export's exercises or criteria differ from the run's", path=path,
                         hint="evaluate on an export of the dataset the run was trained on")
    if part not in set(read_clips(path, columns=["split"])["split"].dropna()):
        return None
    inputs = config["inputs"]
    try:
        return ExportUnits(path, split=part, views=config["views"], exercises=config.get("exercises"),
                           video=inputs["video"], pose=inputs["pose"])
    except InputError as exc:
        if "no items" in exc.message:  # the part exists, but not with every view the run needs
            return None
        raise
