"""What the baselines share: data from an ``arrays`` export, the label space, the training loop,
run folders, checkpoints, and ``gymdata evaluate``.

A run lives in ``$GYMDATA_HOME/runs/<run-id>/`` (the layout of :mod:`baselines.counting`'s runs,
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

Models (``baselines/<model>.py``) are ``nn.Module`` subclasses of :class:`Net`: they declare the
inputs they take (``video``: uint8 ``(B, V, T, H, W, 3)``; ``pose``: float ``(B, V, T, 33, 4)``
landmarks; ``normalized``: ``(B, V, T, 133)`` from :func:`gymdata.features.normalize_landmarks`) and
return a dict with any of ``criteria`` logits ``(B, E, W)`` (one row of W criterion slots per
exercise; the row of the sample's exercise is the one that counts), ``exercise`` logits ``(B, E)``,
``score`` in 0..1. Feature computation happens in the model, on the device.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import json
import logging
import math
import os
import random
import re
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np
import torch
from torch import nn

from baselines.counting import RUN_RESULTS, check_run_id, new_run_id, run_path, runs_root
from baselines.metrics import THRESHOLD, Predictions, evaluate, format_report
from gymdata.arrays import ExportUnits, read_clips, read_meta
from gymdata.errors import InputError
from gymdata.safety import naming
from gymdata.output import emit, json_option

log = logging.getLogger("gymdata")

#: Feature width of every branch (what ``merged`` concatenates).
FEATURE_DIM = 512
#: What the loop checkpoints and restores; bump when the layout of ``last.pt`` changes.
CHECKPOINT_VERSION = 1


# --------------------------------------------------------------------------------------------
# Labels and data
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LabelSpace:
    """The labels of an export: exercise ids, criterion slots per exercise, the score scale."""

    exercises: tuple[str, ...]
    criteria: dict[str, tuple[str, ...]]
    score_scale: tuple[float, float] | None

    @property
    def width(self) -> int:
        """Criterion slots per exercise (the most criteria any exercise has)."""
        return max((len(c) for c in self.criteria.values()), default=0)

    @classmethod
    def from_meta(cls, meta: dict) -> LabelSpace:
        scale = meta.get("score_scale")
        return cls(tuple(meta["exercises"]), {k: tuple(v) for k, v in meta.get("criteria", {}).items()},
                   tuple(float(s) for s in scale) if scale else None)

    def to_json(self) -> dict:
        return {"exercises": list(self.exercises), "criteria": {k: list(v) for k, v in self.criteria.items()},
                "score_scale": list(self.score_scale) if self.score_scale else None}


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------

class Net(nn.Module):
    """Base of the baselines' networks.

    Subclasses set :attr:`input_names` (a subset of ``video``, ``pose``, ``normalized``, in the order
    ``forward`` takes them) and return a dict of ``criteria``/``exercise`` logits and/or ``score``.
    Criteria networks also implement :meth:`features` (the 512-d branch feature ``merged`` uses).
    """

    input_names: tuple[str, ...] = ()

    def features(self, *inputs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no branch features")


class CriteriaHead(nn.Module):
    """Criteria logits ``(B, E, W)`` (a row of slots per exercise) and, with several exercises,
    exercise logits ``(B, E)``, from a feature vector.

    Args:
        in_dim: Feature width.
        space: The label space (E exercises, W slots).
        hidden: Width of a hidden layer (None: a single linear layer, as ALEX-GYM-1's vision head).
        dropout: Dropout before the hidden layer's output layer.
    """

    def __init__(self, in_dim: int, space: LabelSpace, hidden: int | None = None, dropout: float = 0.0):
        super().__init__()
        self.rows, self.width = len(space.exercises), space.width
        out = self.rows * self.width
        self.mlp = (nn.Linear(in_dim, out) if hidden is None else
                    nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out)))
        self.exercise = nn.Linear(in_dim, self.rows) if self.rows > 1 else None

    def forward(self, feat: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {"criteria": self.mlp(feat).view(-1, self.rows, self.width)}
        if self.exercise is not None:
            out["exercise"] = self.exercise(feat)
        return out


def own_row(criteria: torch.Tensor, exercise: torch.Tensor) -> torch.Tensor:
    """The ``(B, W)`` row of ``criteria (B, E, W)`` that belongs to each sample's exercise."""
    return criteria[torch.arange(len(exercise), device=criteria.device), exercise]


def model_inputs(batch: dict[str, torch.Tensor], names: Sequence[str], device: torch.device) -> list[torch.Tensor]:
    """The tensors a model takes, moved to ``device`` (features are computed there)."""
    out = []
    for name in names:
        if name == "video":
            out.append(batch["video"].to(device, non_blocking=True))
        elif name == "pose":
            out.append(batch["pose"].to(device, non_blocking=True).float())
        elif name == "normalized":
            from gymdata.features import normalize_landmarks

            out.append(normalize_landmarks(batch["pose"].to(device, non_blocking=True).float()))
        else:
            raise ValueError(f"unknown model input {name!r}")
    return out


def multitask_loss(out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], *,
                   exercise_weight: float = 1.0) -> torch.Tensor:
    """Masked BCE over the known criteria of each sample's exercise + cross-entropy of the
    exercise head + MSE of the 0..1 score, whichever the model predicts."""
    device = next(iter(out.values())).device
    exercise = batch["exercise"].to(device)
    total = torch.zeros((), device=device)
    if "criteria" in out:
        logits = own_row(out["criteria"].float(), exercise)
        mask = batch["criteria_mask"].to(device)
        if mask.any():
            bce = nn.functional.binary_cross_entropy_with_logits(logits, batch["criteria"].to(device), reduction="none")
            total = total + bce[mask].mean()
    if "exercise" in out:
        total = total + exercise_weight * nn.functional.cross_entropy(out["exercise"].float(), exercise)
    if "score" in out:
        target = batch["score"].to(device)
        known = torch.isfinite(target)
        if known.any():
            total = total + nn.functional.mse_loss(out["score"].float()[known], target[known])
    return total


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


def _atomic_save(obj: Any, path: Path) -> None:
    import io

    # serialised in memory, written as plain bytes: a full disk is an OSError naming the file
    # (torch.save to a path reports it as a RuntimeError of its zip writer)
    buf = io.BytesIO()
    torch.save(obj, buf)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with naming(path), open(tmp, "wb") as fh:
            fh.write(buf.getbuffer())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a full disk must not leave half a checkpoint


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
                _atomic_save({"model": model.state_dict(), "epoch": epoch, "monitored": list(monitored)},
                             run / "best.pt")
            _atomic_save({"version": CHECKPOINT_VERSION, "model": model.state_dict(),
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
# Commands: shared options, building, loading and evaluating runs
# --------------------------------------------------------------------------------------------

def train_options(lr: float, batch_size: int = 16, views: str = "frontal,lateral") -> Callable:
    """The options every ``gymdata train MODEL`` command shares (defaults per model)."""
    def decorate(fn):
        options = [
            click.option("--data", "data", type=click.Path(file_okay=False, path_type=Path),
                         help="An arrays export (gymdata export NAME --format arrays OUT)."),
            click.option("--val-data", type=click.Path(file_okay=False, path_type=Path),
                         help="Export holding the validation part (default: --data)."),
            click.option("--test-data", type=click.Path(file_okay=False, path_type=Path),
                         help="Export holding the test part (default: --data)."),
            click.option("--parts", default="train,val,test", show_default=True,
                         help="Names of the training, validation and test parts."),
            click.option("--exercise", "exercises", multiple=True, help="Train on this exercise only (repeatable)."),
            click.option("--views", default=views, show_default=True,
                         help="Views per sample, one stream each, or 'any' (every clip alone, one stream)."),
            click.option("--epochs", type=int, default=None, help="Most epochs (default 100)."),
            click.option("--batch-size", type=int, default=batch_size, show_default=True),
            click.option("--lr", type=float, default=lr, show_default=True, help="Adam learning rate."),
            click.option("--clip-grad", type=float, default=1.0, show_default=True, help="Max gradient norm (0: off)."),
            click.option("--patience", type=int, default=10, show_default=True, help="Early-stopping patience."),
            click.option("--monitor", type=click.Choice(["metric", "loss"]), default="metric", show_default=True,
                         help="What early stopping and the best checkpoint follow on the validation part: its "
                              "metric (Hamming loss, or score MAE; ties broken by the loss) or its loss."),
            click.option("--seed", type=int, default=0, show_default=True),
            click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N."),
            click.option("--workers", type=int, default=None, help="Batch reader threads (default 6 on CUDA, 0 on CPU)."),
            click.option("--no-amp", is_flag=True, help="No bf16 autocast on CUDA."),
            click.option("--run-id", help="Name of the run folder (default <model>-<export>-<time>)."),
            click.option("--resume", "resume", metavar="RUN", help="Continue an interrupted run (its config is reused)."),
            json_option,  # read by run_train_command (json_requested)
        ]
        for opt in reversed(options):
            fn = opt(fn)
        return fn
    return decorate


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


def model_module(name: str, *, where: Path | None = None):
    """The module of model ``name`` as registered in the ``gymdata.models`` entry points (it has
    ``build(config, space)``). A run's ``config.json`` names its model; the code that builds it
    comes from what is installed, never from a module path written in the file.

    Raises:
        InputError: If no installed model has that name, or it cannot build networks.
    """
    from gymdata import registry

    eps = registry.available("gymdata.models")
    if not isinstance(name, str) or name not in eps:
        raise InputError(f"config.json names model {name!r}, which is not an installed model", path=where,
                         hint=f"installed models: {', '.join(sorted(eps)) or 'none'}")
    module = importlib.import_module(eps[name].module)
    if not callable(getattr(module, "build", None)):
        raise InputError(f"model {name!r} cannot be rebuilt from a run (it has no build function)", path=where,
                         hint="evaluate it with the command that trained it")
    return module


def build_model(config: dict) -> Net:
    """The untrained network of a run config (the registered model's ``build(config, space)``)."""
    where = Path(config["run_dir"]) / "config.json" if config.get("run_dir") else None
    try:
        space = LabelSpace.from_meta(config["space"])
        return model_module(config.get("model"), where=where).build(config, space)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"config.json is damaged or from another version ({type(exc).__name__}: {exc})",
                         path=where, hint="retrain the model; a run's config.json is written by gymdata train") from None


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


def load_run(run: str | Path, *, checkpoint: str = "best.pt", device: str | torch.device = "cpu") -> tuple[Net, dict]:
    """A trained network (eval mode) and its run config.

    Raises:
        InputError: If the run or its checkpoint is missing.
    """
    path = run_path(run)
    config = read_run_config(path)
    config["run_dir"] = str(path)
    ckpt = path / checkpoint
    if not ckpt.is_file():
        raise InputError(f"the run has no {checkpoint} (has it finished an epoch?)", path=path)
    model = build_model(config)
    state = load_checkpoint(ckpt, device)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:  # missing/unexpected keys or wrong shapes: not this config's network
        raise InputError(f"checkpoint does not match config.json ({str(exc).splitlines()[0][:160]})", path=ckpt,
                         hint="the run folder mixes files of different runs; retrain it") from None
    return model.to(device).eval(), config


def evaluate_run(run: str | Path, *, part: str | None = None, data: str | Path | None = None,
                 device: str = "auto", threshold: float = THRESHOLD) -> dict:
    """Evaluate a run's best checkpoint on one part of its export; writes ``eval-<part>.json`` and
    ``.txt`` into the run folder and returns the report (with ``text``, the printed tables).

    Raises:
        InputError: If the part is missing or empty.
    """
    dev = pick_device(device)
    model, config = load_run(run, device=dev)
    part = part or config["parts"][2]
    which = config["parts"].index(part) if part in config["parts"] else 2
    parts = list(config["parts"])
    parts[which] = part
    units = open_part({**config, "parts": parts}, which, data=data)
    if units is None:
        raise InputError(f"no {part!r} units in the export", path=data or config.get(("data", "val_data", "test_data")[which]) or config["data"],
                         hint="choose a part the export holds with --part")
    preds, loss = predict(model, units, dev, workers=0)
    space = LabelSpace.from_meta(config["space"])
    report = evaluate(preds, space.exercises, space.criteria, threshold=threshold)
    report.update(part=part, loss=loss, run=config["run_id"], model=config["model"], samples=len(units))
    text = f"{config['model']} run {config['run_id']} on part {part!r} ({len(units)} samples)\n{format_report(report)}"
    run_dir = Path(config["run_dir"])
    (run_dir / f"eval-{part}.json").write_text(json.dumps(report, indent=2, default=float))
    (run_dir / f"eval-{part}.txt").write_text(text + "\n")
    report["text"] = text
    return report


def train_and_test(config: dict, model: Net, *, param_groups: list[dict] | None = None) -> dict:
    """Fit a model on its run's training part (monitoring the validation part), then evaluate the
    best checkpoint on the test part when the export has one. Returns the test report or the
    last epoch's record."""
    run = Path(config["run_dir"])
    train = open_part(config, 0)
    if train is None:
        raise InputError(f"no {config['parts'][0]!r} units in the export", path=config["data"],
                         hint="split the dataset (gymdata split NAME) before exporting, or name the parts with --parts")
    val = open_part(config, 1)
    if val is None:
        log.info("no %r part: monitoring the training loss", config["parts"][1])
    space = LabelSpace.from_meta(config["space"])
    log.info("run %s: %d training units, %d validation units, device %s", run.name, len(train),
             0 if val is None else len(val), pick_device(config["train"]["device"]))
    record = fit(model, run, train, val, loop_config(config), space, param_groups=param_groups,
                 resume=bool(config.get("resumed")))
    if open_part(config, 2) is None:
        return record
    return evaluate_run(run, device=config["train"]["device"])


@click.command("evaluate")
@click.argument("run")
@click.option("--part", help="Part to evaluate (default: the run's test part).")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), help="Another export of the same dataset.")
@click.option("--device", default="auto", show_default=True)
@click.option("--threshold", type=float, default=THRESHOLD, show_default=True, help="Probability of 'met'.")
@json_option
def evaluate_command(run: str, part: str | None, data: Path | None, device: str, threshold: float, as_json: bool) -> None:
    """Evaluate trained run RUN (id or folder): Hamming loss, per-criterion F1/accuracy, score
    MAE/RMSE, Spearman rho and relative L2, per exercise."""
    report = evaluate_run(run, part=part, data=data, device=device, threshold=threshold)
    text = report.pop("text")
    click.echo(json.dumps(report, indent=2, default=float) if as_json else text)


def run_train_command(model_name: str, module: str, opts: dict, params: dict,
                      build_fn: Callable[[dict], tuple[Net, list | None]], *, video: bool, pose: bool) -> dict:
    """What every ``gymdata train MODEL`` command does: set up (or resume) the run, build the
    model, train, test, print the test tables and where the run is (both as JSON with ``--json``).
    Returns the config."""
    opts = {k: v for k, v in opts.items() if k != "as_json"}  # printing only: not part of the run's config
    config = start_run(model_name, module, opts, params, video=video, pose=pose)
    config["resumed"] = bool(opts.get("resume"))
    seed_everything(config["train"]["seed"])  # the initial weights depend on the seed only
    try:
        model, groups = build_fn(config)
        result = train_and_test(config, model, param_groups=groups)
    except BaseException as exc:
        run = Path(config["run_dir"])
        if not config["resumed"] and not (run / "last.pt").is_file():
            # nothing to resume: remove the folder so that it is not taken for a run
            shutil.rmtree(run, ignore_errors=True)
            if isinstance(exc, KeyboardInterrupt):
                click.echo("interrupted before the first epoch ended: nothing was kept", err=True)
        elif isinstance(exc, KeyboardInterrupt):
            click.echo(f"interrupted: resume with gymdata train {model_name} --resume {config['run_id']}", err=True)
        raise
    text = result.pop("text", None)
    emit({"run": config["run_id"], "run_dir": str(config["run_dir"]), "result": result},
         [*([text] if text else []), f"run folder: {config['run_dir']}"])
    return config
