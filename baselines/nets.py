"""What the baselines' networks share: the label space of an export, the :class:`Net` base with
its declared inputs, the criteria head, and the multi-task loss.

Models (``baselines/<model>.py``) are ``nn.Module`` subclasses of :class:`Net`: they declare the
inputs they take (``video``: uint8 ``(B, V, T, H, W, 3)``; ``pose``: float ``(B, V, T, 33, 4)``
landmarks; ``normalized``: ``(B, V, T, 133)`` from :func:`gymdata.features.normalize_landmarks`) and
return a dict with any of ``criteria`` logits ``(B, E, W)`` (one row of W criterion slots per
exercise; the row of the sample's exercise is the one that counts), ``exercise`` logits ``(B, E)``,
``score`` in 0..1. Feature computation happens in the model, on the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn


#: Feature width of every branch (what ``merged`` concatenates).
FEATURE_DIM = 512


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
