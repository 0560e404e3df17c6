"""GMM repetition counter (after PersonalPT): frames -> Active (A) / Resting (R) -> R -> A -> R counts.

Per frame, mirror-invariant joint angles (:func:`baselines.counting.angle_features`: the mean and
the difference of each left/right pair, from :func:`gymdata.features.joint_angles`) and, for
sequences, their speed are standardised and scored by a Gaussian mixture fitted to the frames of
the training clips. Each component k is mapped to ``P(A | k)``, from the shares of the Active and of
the Resting frames it explains (classes weighted equally), and
``P(A | frame) = sum_k P(k | frame) P(A | k)``. The per-frame probability is
median-filtered, thresholded with hysteresis (enter A above ``enter``, leave below ``leave``), runs
shorter than ``min_active_s`` / ``min_rest_s`` are absorbed by their neighbours, and every A run with
R on both sides is one repetition.

One model per exercise; one labelled clip of an exercise is enough ("one-shot"). Exercises the run
was not trained on fall back to the label-free :class:`baselines.counting.PeriodicCounter`.

Training labels (``gymdata train gmm --data NAME``) come from the ``segments`` table, model-made
rows excluded: ``state`` segments labelled ``A``/``R`` where a clip has them, otherwise its
``repetition`` segments (frames inside a repetition are A, the others R, which is how the sample
corpus's ``truth.json`` defines its A/R runs; the first and last fifth of each repetition, still
close to the rest pose, are left out of training). The run folder (``config.json``, ``metrics.json``,
``model.npz``) follows :mod:`baselines.counting`; ``metrics.json`` holds, per exercise, the counting
MAE/OBO of the GMM and of the periodic counter on the labelled clips not used for training.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import click
import numpy as np
from scipy.ndimage import gaussian_filter1d, median_filter
from sklearn.mixture import GaussianMixture

from baselines.counting import (
    DEFAULT_FPS,
    CountResult,
    PeriodicCounter,
    angle_features,
    count_metrics,
    interpolate,
    new_run_id,
    reps_from_states,
    save_run,
    state_runs,
    true_counts,
    valid_frames,
)
from gymdata import store
from gymdata.errors import InputError
from gymdata.output import emit, json_option

MODEL = "gmm"


@dataclass(frozen=True)
class GMMParams:
    """Hyper-parameters of :class:`GMMCounter` (times in seconds).

    Attributes:
        components: Mixture components per exercise.
        covariance: ``full``, ``diag``, ``tied`` or ``spherical`` (sklearn).
        dims: 2 (image x, y) or 3 (x, y and MediaPipe's relative depth z) for the joint angles.
        velocity: Add the speed of each angle feature (needs whole sequences, not single frames).
        smooth_s: Gaussian smoothing of the angles over time (sigma).
        median_s: Median filter of P(A) over time (window).
        enter: P(A) above which an R run turns A.
        leave: P(A) below which an A run turns R.
        min_active_s: A runs shorter than this become R.
        min_rest_s: R runs shorter than this (between two A runs) become A.
        seed: Seed of the mixture's initialisation.
    """

    components: int = 4
    covariance: str = "full"
    dims: int = 3
    velocity: bool = False
    smooth_s: float = 0.08
    median_s: float = 0.3
    enter: float = 0.6
    leave: float = 0.4
    min_active_s: float = 0.2
    min_rest_s: float = 0.2
    seed: int = 0

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> GMMParams:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in known})


@dataclass
class LabelledClip:
    """A training clip: landmarks with a per-frame Active mask.

    Attributes:
        exercise: Normalised exercise name.
        landmarks: ``(T, 33, >=3)`` image-normalised landmarks (zeros where no person).
        active: ``(T,)`` True for Active frames; frames marked neither way are left out via ``labelled``.
        labelled: ``(T,)`` True for frames that carry a label (default all).
        fps, width, height: As in the ``videos`` table (None if unknown).
        video_id: For reports.
        sequence: False when ``landmarks`` are isolated poses (e.g. salient frames), not a clip.
    """

    exercise: str
    landmarks: np.ndarray
    active: np.ndarray
    labelled: np.ndarray | None = None
    fps: float | None = None
    width: float | None = None
    height: float | None = None
    video_id: str = ""
    sequence: bool = True


@dataclass
class ExerciseModel:
    """The fitted model of one exercise: feature standardisation, mixture, component -> P(A)."""

    mean: np.ndarray
    std: np.ndarray
    mixture: GaussianMixture
    p_active: np.ndarray
    frames: int


def frame_features(landmarks: np.ndarray, params: GMMParams, fps: float | None = None,
                   width: float | None = None, height: float | None = None, *, sequence: bool = True) -> np.ndarray:
    """Per-frame GMM features: mirror-invariant joint angles (radians), then their speeds (radians
    per second) when ``params.velocity``.

    Args:
        landmarks: ``(T, 33, >=2)`` image-normalised landmarks; frames without a person (all
            zeros) are interpolated from their neighbours.
        params: Which features.
        fps: Frames per second (speeds and smoothing).
        width, height: Frame size (x is rescaled by width / height, z with it).
        sequence: False when the frames are isolated poses, not a clip: no smoothing over time, and
            zero speeds.

    Returns:
        ``(T, D)`` features.
    """
    lm = np.asarray(landmarks, np.float64)
    fps = float(fps or DEFAULT_FPS)
    pts = lm[..., : params.dims].copy()
    if width and height:
        pts[..., 0] *= width / height
        if params.dims == 3:
            pts[..., 2] *= width / height  # MediaPipe's z is on the scale of x
    valid = valid_frames(lm)
    feats, _ = angle_features(pts)
    if sequence and valid.sum() >= 2 and not valid.all():
        feats = interpolate(feats, valid)
    if sequence and len(feats) > 1:
        feats = gaussian_filter1d(feats, max(params.smooth_s * fps, 0.5), axis=0, mode="nearest")
    if not params.velocity:
        return feats
    speed = np.abs(np.gradient(feats, axis=0)) * fps if sequence and len(feats) > 1 else np.zeros_like(feats)
    return np.concatenate([feats, speed], axis=1)


class GMMCounter:
    """Counts repetitions as R -> A -> R transitions of GMM-labelled frames (module docstring).

    Args:
        models: One :class:`ExerciseModel` per exercise.
        params: Hyper-parameters.
        run_id: The run the counter was trained in (its annotator in ``segments``).
        fallback: Counter for other exercises (default :class:`PeriodicCounter`).
    """

    def __init__(self, models: Mapping[str, ExerciseModel], params: GMMParams, run_id: str = MODEL,
                 fallback: PeriodicCounter | None = None):
        self.models = dict(models)
        self.params = params
        self.run_id = run_id
        self.fallback = fallback or PeriodicCounter()

    @property
    def exercises(self) -> list[str]:
        return sorted(self.models)

    # -- training ---------------------------------------------------------------------------

    @classmethod
    def fit(cls, clips: Iterable[LabelledClip], params: GMMParams | None = None, run_id: str = MODEL) -> GMMCounter:
        """Fit one mixture per exercise on the labelled frames of ``clips``.

        Raises:
            InputError: If an exercise has no Active or no Resting frame.
        """
        params = params or GMMParams()
        per_ex: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        for clip in clips:
            feats = frame_features(clip.landmarks, params, clip.fps, clip.width, clip.height, sequence=clip.sequence)
            keep = valid_frames(clip.landmarks)
            if clip.labelled is not None:
                keep = keep & np.asarray(clip.labelled, bool)
            per_ex.setdefault(clip.exercise, []).append((feats[keep], np.asarray(clip.active, bool)[keep]))
        models = {}
        for ex, parts in per_ex.items():
            x = np.concatenate([f for f, _ in parts])
            y = np.concatenate([a for _, a in parts])
            if y.all() or not y.any():
                raise InputError(f"{ex}: training needs Active and Resting frames ({int(y.sum())} A, "
                                 f"{int((~y).sum())} R)", hint="label both states, or give clips with repetitions")
            models[ex] = _fit_exercise(x, y, params)
        return cls(models, params, run_id)

    # -- inference --------------------------------------------------------------------------

    def active_probability(self, exercise: str, landmarks: np.ndarray, fps: float | None = None,
                           width: float | None = None, height: float | None = None) -> np.ndarray:
        """Per-frame P(Active) for a clip of a trained exercise (before any smoothing)."""
        model = self.models[exercise]
        x = (frame_features(landmarks, self.params, fps, width, height) - model.mean) / model.std
        return model.mixture.predict_proba(x) @ model.p_active

    def states(self, p_active: np.ndarray, fps: float | None = None) -> list[tuple[int, int, str]]:
        """A/R runs from per-frame P(A): median filter, hysteresis, minimum run lengths."""
        p = self.params
        fps = float(fps or DEFAULT_FPS)
        if len(p_active) == 0:
            return []
        prob = median_filter(p_active, size=max(1, round(p.median_s * fps)) | 1, mode="nearest")
        active = np.zeros(len(prob), bool)
        on = prob[0] >= 0.5
        for t, v in enumerate(prob):
            on = v >= p.leave if on else v > p.enter
            active[t] = on
        active = _absorb(active, True, round(p.min_active_s * fps))
        active = _absorb(active, False, round(p.min_rest_s * fps))
        return state_runs(active)

    def count(self, landmarks: np.ndarray, fps: float | None = None, *, exercise: str | None = None,
              width: float | None = None, height: float | None = None) -> CountResult:
        """Count one clip: with this exercise's mixture, else with the periodic fallback."""
        if exercise not in self.models:
            return self.fallback.count(landmarks, fps, width=width, height=height)
        if valid_frames(landmarks).sum() < 2:
            return CountResult(0, [], [(0, len(landmarks) - 1, "R")] if len(landmarks) else [], self.run_id,
                               reason="no_person")
        states = self.states(self.active_probability(exercise, landmarks, fps, width, height), fps)
        reps = reps_from_states(states)
        return CountResult(len(reps), reps, states, self.run_id, reason=None if reps else "static")

    # -- persistence ------------------------------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        """The fitted parameters as named arrays (``model.npz``)."""
        out: dict[str, np.ndarray] = {}
        for ex, m in self.models.items():
            g = m.mixture
            out.update({f"{ex}/mean": m.mean, f"{ex}/std": m.std, f"{ex}/p_active": m.p_active,
                        f"{ex}/weights": g.weights_, f"{ex}/means": g.means_, f"{ex}/covariances": g.covariances_,
                        f"{ex}/precisions_cholesky": g.precisions_cholesky_, f"{ex}/frames": np.asarray(m.frames)})
        return out

    @classmethod
    def load(cls, folder: str | Path) -> GMMCounter:
        """Rebuild a counter from a run folder (``config.json`` + ``model.npz``)."""
        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        params = GMMParams.from_json(config["params"])
        with np.load(folder / "model.npz") as npz:
            arrays = {k: npz[k] for k in npz.files}
        models = {}
        for ex in config["exercises"]:
            g = GaussianMixture(n_components=len(arrays[f"{ex}/weights"]), covariance_type=params.covariance)
            g.weights_, g.means_ = arrays[f"{ex}/weights"], arrays[f"{ex}/means"]
            g.covariances_, g.precisions_cholesky_ = arrays[f"{ex}/covariances"], arrays[f"{ex}/precisions_cholesky"]
            g.converged_, g.n_iter_, g.lower_bound_ = True, 0, 0.0
            g.n_features_in_ = g.means_.shape[1]
            models[ex] = ExerciseModel(arrays[f"{ex}/mean"], arrays[f"{ex}/std"], g, arrays[f"{ex}/p_active"],
                                       int(arrays[f"{ex}/frames"]))
        return cls(models, params, config["run_id"])


def _fit_exercise(x: np.ndarray, y: np.ndarray, params: GMMParams) -> ExerciseModel:
    mean = x.mean(axis=0)
    std = np.maximum(x.std(axis=0), 1e-6)
    z = (x - mean) / std
    k = min(params.components, len(np.unique(z, axis=0)))  # fewer distinct frames than components
    mixture = GaussianMixture(n_components=k, covariance_type=params.covariance, reg_covar=1e-3,
                              n_init=2, random_state=params.seed).fit(z)
    resp = mixture.predict_proba(z)
    # P(A | component) with balanced classes: Active frames usually outnumber Resting ones, and the
    # rest pose's component would otherwise look half Active (a repetition starts and ends near it)
    share_a, share_r = resp[y].mean(axis=0), resp[~y].mean(axis=0)
    p_active = (share_a + 1e-3) / (share_a + share_r + 2e-3)
    return ExerciseModel(mean, std, mixture, p_active, len(x))


def _absorb(active: np.ndarray, value: bool, min_len: int) -> np.ndarray:
    """Flip runs of ``value`` shorter than ``min_len`` frames that lie between two other runs."""
    if min_len <= 1:
        return active
    out = active.copy()
    runs = state_runs(out)
    label = "A" if value else "R"
    for i, (s, e, lab) in enumerate(runs):
        if lab == label and e - s + 1 < min_len and 0 < i < len(runs) - 1:
            out[s : e + 1] = not value
    return out


# --------------------------------------------------------------------------------------------
# Training from the store
# --------------------------------------------------------------------------------------------

#: Share of a repetition, at each end, left unlabelled when A/R come from repetition bounds.
EDGE = 0.2


def masks_from_reps(n: int, reps: Iterable[tuple[int, int]], edge: float = EDGE) -> tuple[np.ndarray, np.ndarray]:
    """``(active, labelled)`` frame masks from repetition bounds: frames inside a repetition are
    Active, the others Resting, and the first and last ``edge`` of each repetition are left
    unlabelled (there the body is still close to the rest pose, and annotated bounds are loose)."""
    active, labelled = np.zeros(n, bool), np.ones(n, bool)
    for start, end in reps:
        start, end = max(int(start), 0), min(int(end), n - 1)
        margin = round(edge * (end - start + 1))
        active[start : end + 1] = True
        labelled[start : start + margin] = False
        labelled[max(end - margin + 1, start) : end + 1] = False
    return active, labelled


def labelled_masks(ds: store.Dataset, clips: Mapping[str, int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per clip, ``(active, labelled)`` frame masks from its human or imported segments.

    ``state`` segments labelled A/R are used where a clip has them; otherwise its ``repetition``
    segments give the masks (:func:`masks_from_reps`).

    Args:
        ds: The dataset.
        clips: ``{video_id: number of frames}``.
    """
    if not ds.has("segments"):
        return {}
    seg = ds.df("segments", columns=["video_id", "kind", "label", "start_frame", "end_frame"],
                filter={"origin": ["imported", "human"], "video_id": list(clips),
                        "kind": ["state", "repetition"]})
    out = {}
    for vid, group in seg.groupby("video_id"):
        n = int(clips[vid])
        active, labelled = np.zeros(n, bool), np.zeros(n, bool)
        states = group[(group["kind"] == "state") & group["label"].isin(["A", "R"])]
        if len(states):
            for row in states.itertuples():
                s, e = max(int(row.start_frame), 0), min(int(row.end_frame), n - 1)
                labelled[s : e + 1] = True
                active[s : e + 1] = row.label == "A"
        else:
            reps = group[group["kind"] == "repetition"]
            active, labelled = masks_from_reps(n, zip(reps["start_frame"], reps["end_frame"]))
        if labelled.any():
            out[str(vid)] = (active, labelled)
    return out


def train(name: str, *, exercises: Sequence[str] = (), clips_per_exercise: int = 1, split: str | None = None,
          params: GMMParams | None = None, run_id: str | None = None) -> tuple[str, dict]:
    """Train a GMM counter on a dataset's labelled clips and save it as a run.

    Args:
        name: Dataset name (it needs poses and repetition or A/R segments).
        exercises: Only these exercises (default every exercise with labelled clips).
        clips_per_exercise: Labelled clips per exercise to train on (1 = one-shot; 0 = all), picked
            at random with ``params.seed``; the others are the evaluation clips of ``metrics.json``.
        split: Train only on clips of this split (evaluation still uses every other labelled clip).
        params: Hyper-parameters.
        run_id: Run id (default :func:`baselines.counting.new_run_id`).

    Returns:
        The run id and its metrics.

    Raises:
        InputError: If the dataset has no poses or no labelled clip for an exercise asked for.
    """
    from gymdata.features import load_pose_sequences

    params = params or GMMParams()
    ds = store.open_dataset(name)
    videos = {v["video_id"]: v for v in ds.read(
        "videos", columns=["video_id", "exercise", "fps", "width", "height", "num_frames", "split"]).to_pylist()}
    poses = load_pose_sequences(ds, list(videos))
    if not poses:
        raise InputError(f"dataset {name!r} has no poses", hint=f"extract them first: gymdata pose {name}")
    masks = labelled_masks(ds, {vid: len(lm) for vid, lm in poses.items()})
    wanted = set(exercises)
    by_ex: dict[str, list[str]] = {}
    for vid in sorted(masks):
        ex = videos[vid]["exercise"]
        if not wanted or ex in wanted:
            by_ex.setdefault(ex, []).append(vid)
    missing = wanted - set(by_ex)
    if missing or not by_ex:
        raise InputError(f"no clip with poses and repetition or A/R segments for {', '.join(sorted(missing)) or 'any exercise'}"
                         f" in dataset {name!r}", hint="import repetition annotations (gymdata import repcount) "
                         "or label A/R states, and extract poses (gymdata pose)")
    rng = random.Random(params.seed)
    train_ids: dict[str, list[str]] = {}
    for ex, ids in by_ex.items():
        pool = [v for v in ids if split is None or videos[v]["split"] == split]
        if not pool:
            raise InputError(f"{ex}: no labelled clip in split {split!r}")
        k = len(pool) if clips_per_exercise <= 0 else min(clips_per_exercise, len(pool))
        train_ids[ex] = sorted(rng.sample(pool, k))

    def clip(vid: str) -> LabelledClip:
        v = videos[vid]
        active, labelled = masks[vid]
        return LabelledClip(v["exercise"], poses[vid], active, labelled, v["fps"], v["width"], v["height"], vid)

    run_id = run_id or new_run_id(MODEL, name)
    counter = GMMCounter.fit([clip(v) for ids in train_ids.values() for v in ids], params, run_id)
    metrics = {"exercises": {}}
    truth = true_counts(ds, list(masks))
    periodic = PeriodicCounter()
    for ex, ids in by_ex.items():
        held = [v for v in ids if v not in train_ids[ex] and v in truth]
        entry: dict[str, Any] = {"train_clips": train_ids[ex], "train_frames": counter.models[ex].frames,
                                 "eval_clips": len(held)}
        if held:
            preds, base = [], []
            for vid in held:
                v = videos[vid]
                preds.append(counter.count(poses[vid], v["fps"], exercise=ex, width=v["width"], height=v["height"]).count)
                base.append(periodic.count(poses[vid], v["fps"], width=v["width"], height=v["height"]).count)
            gt = [truth[v] for v in held]
            entry["gmm"] = count_metrics(preds, gt)
            entry["periodic"] = count_metrics(base, gt)
        metrics["exercises"][ex] = entry
    config = {"model": MODEL, "module": __name__, "run_id": run_id, "created_at": store.now().isoformat(),
              "dataset": name, "exercises": counter.exercises, "params": asdict(params),
              "clips_per_exercise": clips_per_exercise, "split": split,
              "labels": "segments (state A/R, else repetition), origin imported|human"}
    save_run(run_id, config, metrics, counter.arrays())
    return run_id, metrics


@click.command(MODEL)
@click.option("--data", "name", required=True, help="Dataset with poses and repetition (or A/R) segments.")
@click.option("--exercise", "exercises", multiple=True, help="Only this exercise (repeatable).")
@click.option("--clips", "clips_per_exercise", default=1, show_default=True,
              help="Labelled clips per exercise to train on (1 = one-shot, 0 = all).")
@click.option("--split", default=None, help="Train only on clips of this split.")
@click.option("--components", default=GMMParams.components, show_default=True, help="Mixture components.")
@click.option("--seed", default=0, show_default=True, help="Seed (clip choice, mixture initialisation).")
@click.option("--run-id", default=None, help="Run id (default gmm-<dataset>-<UTC time>).")
@json_option
def command(name: str, exercises: tuple[str, ...], clips_per_exercise: int, split: str | None, components: int,
            seed: int, run_id: str | None, as_json: bool) -> None:
    """Train the GMM repetition counter (Active/Resting frames, one-shot per exercise).

    Saves the run in $GYMDATA_HOME/runs/<run-id>/ and prints, per exercise, the counting MAE/OBO of
    the GMM and of the label-free counter on the labelled clips it did not train on. Use it with
    `gymdata count NAME --run RUN`.
    """
    from gymdata.cli import format_table

    if components < 1:
        raise InputError(f"--components must be at least 1, not {components}")
    run, metrics = train(name, exercises=exercises, clips_per_exercise=clips_per_exercise, split=split,
                         params=GMMParams(components=components, seed=seed), run_id=run_id)
    rows = []
    for ex, m in sorted(metrics["exercises"].items()):
        g, p = m.get("gmm", {}), m.get("periodic", {})
        rows.append([ex, len(m["train_clips"]), m["train_frames"], m["eval_clips"], g.get("mae"), g.get("obo"),
                     p.get("mae"), p.get("obo")])
    emit({"run": run, "run_dir": str(store.home() / "runs" / run), "metrics": metrics},
         [format_table(["exercise", "train clips", "train frames", "eval clips", "gmm MAE", "gmm OBO",
                        "periodic MAE", "periodic OBO"], rows), f"run {run} saved in {store.home() / 'runs' / run}"])
