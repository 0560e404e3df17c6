"""Learned repetition counter in the spirit of PoseRAC: a small network tells, frame by frame, which
of its exercise's two salient poses the body is closer to, and repetitions are read from the
alternation.

Training data: frames labelled ``R`` (``salient1``, the pose a repetition starts from) and ``A``
(``salient2``, its middle pose), i.e. ``state`` segments such as the ``pose-counting`` importer
makes from PoseRAC's ``annotation_pose/train.csv``, or A/R segments labelled in the App, or
repetition segments (read by :func:`baselines.counting_data.labelled_masks`, model-made rows excluded).
Only labelled frames with a person are used; they need not form a sequence.

Per frame, three views of the pose, each fed to its own multilayer perceptron (two hidden layers,
ReLU, dropout) with one output per exercise (the logit of ``A`` against ``R``); the counter uses
the mean of the three logits, for the clip's exercise:

* ``minmax``: the 33 x (x, y, z) landmarks min-max normalised per frame and axis (the space of the
  PoseRAC pose arrays; image-normalised MediaPipe output is mapped into it the same way);
* ``centred``: x, y centred on the hip midpoint and divided by the torso length;
* ``angles``: mirror-invariant joint angles (:func:`baselines.counting.angle_features`).

Each view sees the body differently (the box, the hips, the joints): on the Countix test
sequences each single view fails on another exercise, their mean on none (see the README). Training
doubles the frames with their mirror images (left and right swapped), so a left-side view and a
lunge on the other leg look alike. Counting: :func:`baselines.counting.count_states` (the score
fused with the label-free counter's motion signal, period from the autocorrelation, smoothing and hysteresis relative to the clip's own range, a minimum gap tied to
the period). Exercises the run was not trained on fall back to the label-free counter.

The run folder follows :mod:`baselines.counting`: ``config.json`` (parameters, exercises, feature
names), ``metrics.json`` and ``model.npz`` (the weights and standardisation as plain float arrays,
read with ``allow_pickle=False``). Inference is numpy only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from baselines.counter_features import VIEWS, minmax, mirror, valid_frames, view_features
from baselines.counting import PeriodicCounter, StateCounter, StateParams, count_metrics
from baselines.counting_data import clip_info, count_dataset, expected_counts, labelled_masks
from baselines.runs import new_run_id, refuse_existing_run, save_run
from gymdata import store
from gymdata.errors import InputError

MODEL = "poserac"
#: State counting of new runs: the median count over the fixed grid
#: :data:`baselines.counting.CONSENSUS_GRID` (:func:`baselines.counting.count_consensus`), so no
#: counting setting is chosen on any counted data. Runs trained before it keep the single setting
#: in their ``config.json``.
DEFAULT_STATE = StateParams(consensus=True)
@dataclass(frozen=True)
class PoseRACParams:
    """Training hyper-parameters (chosen on the training frames' own validation accuracy, not on
    counting results).

    Attributes:
        hidden: Units of each of the two hidden layers.
        dropout: Dropout after each hidden layer.
        epochs: Passes over the (mirror-doubled) training frames.
        batch: Frames per step.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        noise: Standard deviation of the Gaussian noise added to the standardised inputs.
        views: Which pose views to train (a subset of :data:`VIEWS`).
        seed: Seed of initialisation, batching and noise.
    """

    hidden: int = 256
    dropout: float = 0.2
    epochs: int = 60
    batch: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-3
    noise: float = 0.05
    views: tuple[str, ...] = VIEWS
    seed: int = 0

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> PoseRACParams:
        known = {f.name for f in fields(cls)}
        out = {k: v for k, v in doc.items() if k in known}
        if "views" in out:
            out["views"] = tuple(out["views"])
        return cls(**out)


# --------------------------------------------------------------------------------------------
# The counter
# --------------------------------------------------------------------------------------------

@dataclass
class ViewNet:
    """One view's standardisation and perceptron weights (numpy; ReLU between layers)."""

    mean: np.ndarray
    std: np.ndarray
    layers: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def logits(self, x: np.ndarray) -> np.ndarray:
        h = (x - self.mean) / self.std
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i + 1 < len(self.layers):
                h = np.maximum(h, 0.0)
        return h


class PoseRACCounter(StateCounter):
    """Salient-pose classifier + state counting (module docstring).

    Args:
        exercises: The exercises, in the order of the networks' outputs.
        nets: One :class:`ViewNet` per view.
        params: Training hyper-parameters (kept for the record).
        state: How scores become counts.
        run_id: The run (annotator of its segments).
        fallback: Counter for other exercises (default :class:`PeriodicCounter`).
    """

    MODEL = MODEL

    def __init__(self, exercises: Sequence[str], nets: Mapping[str, ViewNet], params: PoseRACParams,
                 state: StateParams | None = None, run_id: str = MODEL, fallback: PeriodicCounter | None = None):
        self._exercises = list(exercises)
        self.nets = dict(nets)
        self.params = params
        self.state = state or DEFAULT_STATE
        self.run_id = run_id
        self.fallback = fallback or PeriodicCounter()

    @property
    def exercises(self) -> list[str]:
        return sorted(self._exercises)

    def frame_logits(self, landmarks: np.ndarray) -> np.ndarray:
        """``(T, E)``: per frame and exercise, the mean over views of the logit of A (salient2)."""
        feats = view_features(minmax(landmarks))
        return np.mean([net.logits(feats[view]) for view, net in self.nets.items()], axis=0)

    def score(self, exercise: str, landmarks: np.ndarray, fps: float | None = None, width: float | None = None,
              height: float | None = None) -> np.ndarray:
        """``(T,)`` logit of A for one exercise, clipped to +-9 (``fps`` unused: frames are scored alone).

        Frames without a person score whatever the network says; :meth:`count` interpolates them.
        """
        lm = np.asarray(landmarks, np.float64)
        if width and height:  # image-normalised x and y share a unit before the per-frame min-max
            lm = lm.copy()
            lm[..., 0] *= width / height
        return np.clip(self.frame_logits(lm)[:, self._exercises.index(exercise)], -9.0, 9.0)

    # -- persistence ------------------------------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for view, net in self.nets.items():
            out[f"{view}/mean"], out[f"{view}/std"] = net.mean, net.std
            for i, (w, b) in enumerate(net.layers):
                out[f"{view}/w{i}"], out[f"{view}/b{i}"] = w, b
        return out

    @classmethod
    def _load(cls, folder: Path) -> PoseRACCounter:
        config = json.loads((folder / "config.json").read_text())
        with np.load(folder / "model.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        nets = {}
        for view in config["views"]:
            layers, i = [], 0
            while f"{view}/w{i}" in arrays:
                layers.append((arrays[f"{view}/w{i}"], arrays[f"{view}/b{i}"]))
                i += 1
            nets[view] = ViewNet(arrays[f"{view}/mean"], arrays[f"{view}/std"], layers)
        return cls(config["exercises"], nets, PoseRACParams.from_json(config["params"]),
                   StateParams.from_json(config["state"]) if config.get("state") else None, config["run_id"])


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

@dataclass
class SalientFrames:
    """Labelled poses of one exercise: ``(N, 33, >=3)`` landmarks and ``(N,)`` True for A."""

    exercise: str
    landmarks: np.ndarray
    active: np.ndarray
    source: str = ""  # the clip they come from (for the validation split)


def _train_view(x: np.ndarray, ex_index: np.ndarray, y: np.ndarray, outputs: int, params: PoseRACParams,
                seed: int) -> ViewNet:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    mean = x.mean(axis=0)
    std = np.maximum(x.std(axis=0), 1e-6)
    xt = torch.tensor((x - mean) / std, dtype=torch.float32)
    et = torch.tensor(ex_index, dtype=torch.long)
    yt = torch.tensor(y, dtype=torch.float32)
    net = nn.Sequential(nn.Linear(x.shape[1], params.hidden), nn.ReLU(), nn.Dropout(params.dropout),
                        nn.Linear(params.hidden, params.hidden), nn.ReLU(), nn.Dropout(params.dropout),
                        nn.Linear(params.hidden, outputs))
    opt = torch.optim.AdamW(net.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(params.epochs):
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), params.batch):
            b = order[i : i + params.batch]
            xb = xt[b] + params.noise * torch.randn(len(b), xt.shape[1], generator=gen)
            # only the clip's own exercise output learns from a frame
            out = net(xb).gather(1, et[b][:, None])[:, 0]
            loss = nn.functional.binary_cross_entropy_with_logits(out, yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    linear = [m for m in net if isinstance(m, nn.Linear)]
    return ViewNet(mean, std, [(m.weight.detach().numpy().T.astype(np.float32).copy(),
                                m.bias.detach().numpy().astype(np.float32).copy()) for m in linear])


def fit(frames: Iterable[SalientFrames], params: PoseRACParams | None = None, run_id: str = MODEL,
        state: StateParams | None = None) -> PoseRACCounter:
    """Train the per-view networks on labelled salient poses (mirror images added).

    Raises:
        InputError: If an exercise lacks A or R frames, or a view is unknown.
    """
    import torch

    params = params or PoseRACParams()
    unknown = set(params.views) - set(VIEWS)
    if unknown or not params.views:
        raise InputError(f"unknown view(s) {', '.join(sorted(unknown)) or 'none given'}",
                         hint=f"use some of {', '.join(VIEWS)}")
    groups = [g for g in frames if len(g.landmarks)]
    exercises = sorted({g.exercise for g in groups})
    for ex in exercises:
        y = np.concatenate([g.active for g in groups if g.exercise == ex])
        if y.all() or not y.any():
            raise InputError(f"{ex}: training needs A (salient2) and R (salient1) frames "
                             f"({int(y.sum())} A, {int((~y).sum())} R)", hint="label both states")
    if not exercises:
        raise InputError("no labelled frame to train on")
    norm = minmax(np.concatenate([g.landmarks for g in groups]))
    norm = np.concatenate([norm, mirror(norm)])
    ex_index = np.concatenate([np.full(len(g.landmarks), exercises.index(g.exercise)) for g in groups] * 2)
    y = np.concatenate([np.asarray(g.active, bool) for g in groups] * 2).astype(np.float32)
    feats = view_features(norm)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small nets: one thread is as fast and leaves the others free
    try:
        nets = {view: _train_view(feats[view], ex_index, y, len(exercises), params, params.seed + k)
                for k, view in enumerate(params.views)}
    finally:
        torch.set_num_threads(threads)
    return PoseRACCounter(exercises, nets, params, state, run_id)


def frame_accuracy(counter: PoseRACCounter, frames: Iterable[SalientFrames]) -> dict[str, dict[str, float]]:
    """Per exercise, the share of labelled poses whose A/R the counter gets right."""
    out: dict[str, list[int]] = {}
    for g in frames:
        if g.exercise not in counter.exercises or not len(g.landmarks):
            continue
        right = (counter.frame_logits(g.landmarks)[:, counter._exercises.index(g.exercise)] > 0) == g.active
        hit = out.setdefault(g.exercise, [0, 0])
        hit[0] += int(right.sum())
        hit[1] += len(right)
    return {ex: {"frames": n, "accuracy": k / n} for ex, (k, n) in sorted(out.items())}


def salient_frames(ds: store.Dataset, exercises: Sequence[str] = (), split: str | None = None) -> list[SalientFrames]:
    """Labelled frames with a person, per clip, from a dataset's A/R (or repetition) segments.

    Raises:
        InputError: If the dataset has no poses or no labelled frame (for the exercises asked for).
    """
    from gymdata.features import load_pose_sequences

    videos = {v["video_id"]: v for v in ds.read("videos", columns=["video_id", "exercise", "split"]).to_pylist()}
    poses = load_pose_sequences(ds, list(videos))
    if not poses:
        raise InputError(f"dataset {ds.name!r} has no poses", hint=f"extract them first: gymdata pose {ds.name}")
    masks = labelled_masks(ds, {vid: len(lm) for vid, lm in poses.items()})
    wanted = set(exercises)
    out = []
    for vid in sorted(masks):
        v = videos[vid]
        if (wanted and v["exercise"] not in wanted) or (split is not None and v["split"] != split):
            continue
        active, labelled = masks[vid]
        keep = labelled & valid_frames(poses[vid])
        if keep.any():
            out.append(SalientFrames(v["exercise"], poses[vid][keep][..., :3], active[keep], vid))
    missing = wanted - {g.exercise for g in out}
    if missing or not out:
        raise InputError(f"no labelled frame with a pose for {', '.join(sorted(missing)) or 'any exercise'} in dataset "
                         f"{ds.name!r}" + (f" (split {split!r})" if split else ""),
                         hint="import salient poses (gymdata import pose-counting) or label A/R states in the App")
    return out


def train(name: str, *, exercises: Sequence[str] = (), split: str | None = "train",
          params: PoseRACParams | None = None, state: StateParams | None = None, run_id: str | None = None,
          validation: float = 0.2) -> tuple[str, dict]:
    """Train the learned counter on a dataset's labelled frames and save it as a run.

    A share ``validation`` of each exercise's labelled clips (at least one, when it has two) is
    held out to measure the frame accuracy; the saved model is then trained on all of them.

    Args:
        name: Dataset name.
        exercises: Only these exercises (default all with labelled frames).
        split: Train on clips of this split (None: every split).
        params: Hyper-parameters.
        state: Counting parameters stored with the run.
        run_id: Run id (default :func:`baselines.counting.new_run_id`).
        validation: Share of clips held out for the accuracy figure (0: none).

    Returns:
        The run id and its metrics.

    Raises:
        InputError: If the run id is not a plain name or the run exists.
    """
    refuse_existing_run(run_id)  # before any work: a run is never replaced
    params = params or PoseRACParams()
    ds = store.open_dataset(name)
    groups = salient_frames(ds, exercises, split)
    start = time.perf_counter()
    metrics: dict[str, Any] = {"exercises": {}}
    rng = np.random.default_rng(params.seed)
    held: set[str] = set()
    for ex in sorted({g.exercise for g in groups}):
        clips = sorted({g.source for g in groups if g.exercise == ex})
        if validation > 0 and len(clips) > 1:
            k = min(max(1, round(validation * len(clips))), len(clips) - 1)
            held |= set(rng.choice(clips, size=k, replace=False).tolist())
    if held:
        probe = fit([g for g in groups if g.source not in held], params)
        for ex, acc in frame_accuracy(probe, [g for g in groups if g.source in held]).items():
            metrics["exercises"].setdefault(ex, {})["validation"] = acc
    run_id = run_id or new_run_id(MODEL, name)
    counter = fit(groups, params, run_id, state)
    for ex, acc in frame_accuracy(counter, groups).items():
        metrics["exercises"].setdefault(ex, {})["training"] = acc
    metrics["train_seconds"] = round(time.perf_counter() - start, 1)
    # counting figures on the clips of trained exercises with true counts that were not trained on
    # (reported only: nothing is chosen on them)
    trained = {g.source for g in groups}
    truth = expected_counts(ds)
    exercise_of = {c["video_id"]: c["exercise"] for c in clip_info(ds, list(truth))}
    evaluate = [vid for vid in truth if vid not in trained and exercise_of.get(vid) in counter.exercises]
    try:
        results = count_dataset(ds, counter, evaluate) if evaluate else []
    except InputError:  # those clips have no poses yet
        results = []
    if results:
        by_ex: dict[str, tuple[list[int], list[int]]] = {}
        for clip, res in results:
            pred, gt = by_ex.setdefault(clip["exercise"], ([], []))
            pred.append(res.count)
            gt.append(truth[clip["video_id"]])
        for ex, (pred, gt) in by_ex.items():
            metrics["exercises"].setdefault(ex, {})["counting"] = count_metrics(pred, gt)
    config = {"model": MODEL, "module": __name__, "run_id": run_id, "created_at": store.now().isoformat(),
              "dataset": name, "split": split, "exercises": counter._exercises, "views": list(counter.nets),
              "params": asdict(params), "state": asdict(counter.state),
              "labels": "segments (state A/R, else repetition), origin imported|human; A = salient2"}
    save_run(run_id, config, metrics, counter.arrays())
    return run_id, metrics
