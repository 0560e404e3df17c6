"""GMM repetition counter (after PersonalPT): a Gaussian mixture per state, frames -> Active (A) /
Resting (R), and R -> A -> R counting.

Per exercise, two Gaussian mixtures, one fitted to the Active frames and one to the Resting frames
of the training clips (PersonalPT's "a Gaussian mixture per state"; by default a single
full-covariance Gaussian per state, :attr:`GMMParams.components`), on each of three per-frame
views of the pose (:func:`baselines.poserac.view_features`, the learned counter's views):

* ``minmax``: the landmarks min-max normalised per frame and axis (the PoseRAC arrays' space);
* ``centred``: x, y centred on the hips and divided by the torso length;
* ``angles``: mirror-invariant joint angles (the mean and difference of each left/right pair).

What makes it hold up on people, cameras and tempos it did not see:

* view-invariant features: the mirror images of the training frames are added (a left-side camera
  and a right-side one look alike), the angles are mirror-invariant, and per-frame normalisation
  removes the body's size and place in the image;
* the score of a frame is the log-likelihood ratio ``log p(x | A) - log p(x | R)``, averaged over
  the three views (each centred on its median over the clip, then clipped to +-9): no threshold on
  a probability whose level shifts from one person or camera to the next;
* :func:`baselines.counting.count_states`: the score is fused with the label-free counter's motion
  signal (:func:`baselines.counting.fuse_scores`: both standardised, the motion signal's sign taken
  from the score), smoothed over a share of the clip's own
  period (autocorrelation), frames switch state with hysteresis at levels relative to the clip's
  score range, and two repetitions are at least a set share of the period apart (a minimum state
  duration tied to the estimated period); by default the count is the median over a fixed grid of
  these settings (:func:`baselines.counting.count_consensus`), so none is chosen on test data.

One model per exercise; one labelled clip is enough ("one-shot"). Exercises the run was not trained
on fall back to the label-free :class:`baselines.counting.PeriodicCounter`.

Training labels (``gymdata train gmm --data NAME``) come from the ``segments`` table, model-made
rows excluded: ``state`` segments labelled ``A``/``R`` where a clip has them (e.g. the salient
poses of the ``pose-counting`` importer: ``salient2`` = A, ``salient1`` = R, or A/R runs labelled
in the App), otherwise its ``repetition`` segments (frames inside a repetition are A, the others R;
the first and last fifth of each repetition, still close to the rest pose, are left out). Clips
whose ``extras.sequence`` is false hold isolated poses, not a time sequence. The run folder
(``config.json``, ``metrics.json``, ``model.npz``) follows :mod:`baselines.counting`; ``metrics.json``
holds, per exercise, the counting MAE/OBO of the GMM and of the periodic counter on the labelled
clips not used for training.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from baselines.counter_features import VIEWS, minmax, mirror, valid_frames, view_features
from baselines.counting import PeriodicCounter, StateCounter, StateParams, count_metrics
from baselines.counting_data import labelled_masks, true_counts
from baselines.runs import new_run_id, refuse_existing_run, save_run
from gymdata import store
from gymdata.errors import InputError

if TYPE_CHECKING:  # scikit-learn is imported where a mixture is fitted or rebuilt (a slow import)
    from sklearn.mixture import GaussianMixture

MODEL = "gmm"
#: State counting of new runs: the median count over the fixed grid
#: :data:`baselines.counting.CONSENSUS_GRID` (:func:`baselines.counting.count_consensus`), so no
#: counting setting is chosen on any counted data. Runs trained before it keep the single setting
#: in their ``config.json``.
DEFAULT_STATE = StateParams(consensus=True)
STATES = ("A", "R")


@dataclass(frozen=True)
class GMMParams:
    """Hyper-parameters of :class:`GMMCounter`.

    Attributes:
        components: Mixture components per state (at most the number of distinct frames). One (a
            full-covariance Gaussian per state and view, fitted in closed form) needs no random
            start, so the counter does not depend on a seed; on the Countix test sequences it also
            counted best of 1-4 components, chosen out-of-sample (each exercise's choice made on the
            other two: 1 every time).
        covariance: ``full``, ``diag``, ``tied`` or ``spherical`` (sklearn).
        reg_covar: Added to the covariances' diagonal (standardised features: a floor on each
            feature's spread, which keeps a mixture fitted to a few dozen frames usable).
        views: Which pose views (a subset of :data:`baselines.poserac.VIEWS`).
        mirror: Add the mirror image of every training frame.
        seed: Seed of the mixtures' initialisation (member ``m`` of the ensemble: ``seed + m``).
        ensemble: Mixtures per state and view, each fitted from another random initialisation; the
            score averages their log-likelihood ratios. EM on a few hundred salient frames lands
            in different optima from different starts, and which one counts well on new clips is
            luck (with 2 components, OBO on the Countix test sequences moves 0.78-0.85 with the
            seed; 5 members: 0.81); the average depends less on one start. Pointless with one
            component (no random start), hence 1 by default.
    """

    components: int = 1
    covariance: str = "full"
    reg_covar: float = 1e-2
    views: tuple[str, ...] = VIEWS
    mirror: bool = True
    seed: int = 0
    ensemble: int = 1

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> GMMParams:
        known = {f.name for f in fields(cls)}
        out = {"ensemble": 1, **{k: v for k, v in doc.items() if k in known}}  # older runs: one mixture
        if "views" in out:
            out["views"] = tuple(out["views"])
        return cls(**out)


@dataclass
class LabelledClip:
    """A training clip: landmarks with a per-frame Active mask.

    Attributes:
        exercise: Normalised exercise name.
        landmarks: ``(T, 33, >=3)`` landmarks (zeros where no person).
        active: ``(T,)`` True for Active frames; frames marked neither way are left out via ``labelled``.
        labelled: ``(T,)`` True for frames that carry a label (default all).
        fps, width, height: As in the ``videos`` table (None if unknown).
        video_id: For reports.
        sequence: False when ``landmarks`` are isolated poses (e.g. salient frames), not a clip
            (recorded only: the mixtures score every frame alone, so both train alike).
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
    """The fitted model of one exercise: per view, the feature standardisation and, per state
    (:data:`STATES`), the ensemble's mixtures (:attr:`GMMParams.ensemble`)."""

    mean: dict[str, np.ndarray]
    std: dict[str, np.ndarray]
    mixtures: dict[tuple[str, str], list[GaussianMixture]]
    frames: int


def frame_features(landmarks: np.ndarray, views: Sequence[str] = VIEWS, width: float | None = None,
                   height: float | None = None) -> dict[str, np.ndarray]:
    """Per-frame features of each view (no smoothing over time: a frame is scored alone).

    Args:
        landmarks: ``(T, 33, >=3)`` landmarks (image-normalised or min-max normalised).
        views: Which views.
        width, height: Frame size (x is rescaled by width / height first, so x and y share a unit).

    Returns:
        ``{view: (T, D)}``.
    """
    lm = np.asarray(landmarks, np.float64)[..., :3]
    if width and height:
        lm = lm.copy()
        lm[..., 0] *= width / height
    feats = view_features(minmax(lm))
    return {v: feats[v] for v in views}


class GMMCounter(StateCounter):
    """Counts repetitions from the A/R log-likelihood ratio of per-state mixtures (module docstring).

    Args:
        models: One :class:`ExerciseModel` per exercise.
        params: Hyper-parameters.
        run_id: The run the counter was trained in (its annotator in ``segments``).
        fallback: Counter for other exercises (default :class:`PeriodicCounter`).
        state: How scores become counts (default :data:`DEFAULT_STATE`).
    """

    MODEL = MODEL

    def __init__(self, models: Mapping[str, ExerciseModel], params: GMMParams, run_id: str = MODEL,
                 fallback: PeriodicCounter | None = None, state: StateParams | None = None):
        self.models = dict(models)
        self.params = params
        self.run_id = run_id
        self.fallback = fallback or PeriodicCounter()
        self.state = state or DEFAULT_STATE

    @property
    def exercises(self) -> list[str]:
        return sorted(self.models)

    # -- training ---------------------------------------------------------------------------

    @classmethod
    def fit(cls, clips: Iterable[LabelledClip], params: GMMParams | None = None, run_id: str = MODEL,
            state: StateParams | None = None) -> GMMCounter:
        """Fit, per exercise and view, one mixture to the Active and one to the Resting frames.

        Raises:
            InputError: If an exercise has no Active or no Resting frame, or a view is unknown.
        """
        params = params or GMMParams()
        unknown = set(params.views) - set(VIEWS)
        if unknown or not params.views:
            raise InputError(f"unknown view(s) {', '.join(sorted(unknown)) or 'none given'}",
                             hint=f"use some of {', '.join(VIEWS)}")
        per_ex: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        for clip in clips:
            lm = np.asarray(clip.landmarks, np.float64)[..., :3]
            keep = valid_frames(lm)
            if clip.labelled is not None:
                keep = keep & np.asarray(clip.labelled, bool)
            if clip.width and clip.height:
                lm = lm.copy()
                lm[..., 0] *= clip.width / clip.height
            per_ex.setdefault(clip.exercise, []).append((lm[keep], np.asarray(clip.active, bool)[keep]))
        models = {}
        for ex, parts in per_ex.items():
            lm = np.concatenate([x for x, _ in parts])
            y = np.concatenate([a for _, a in parts])
            if y.all() or not y.any():
                raise InputError(f"{ex}: training needs Active and Resting frames ({int(y.sum())} A, "
                                 f"{int((~y).sum())} R)", hint="label both states, or give clips with repetitions")
            models[ex] = _fit_exercise(lm, y, params)
        return cls(models, params, run_id, state=state)

    # -- inference --------------------------------------------------------------------------

    def score(self, exercise: str, landmarks: np.ndarray, fps: float | None = None, width: float | None = None,
              height: float | None = None) -> np.ndarray:
        """Per-frame ``log p(x | A) - log p(x | R)``, averaged over the views and the ensemble's
        members (each centred on its median over the clip and clipped to +-9)."""
        model = self.models[exercise]
        feats = frame_features(landmarks, list(model.mean), width, height)
        out = np.zeros(len(landmarks))
        for view, x in feats.items():
            z = (x - model.mean[view]) / model.std[view]
            members = list(zip(model.mixtures[(view, "A")], model.mixtures[(view, "R")]))
            for ga, gr in members:
                llr = ga.score_samples(z) - gr.score_samples(z)
                # centred on the clip's median before clipping: a camera or body the mixtures never
                # saw can push every frame's ratio far to one side, and its ups and downs must survive
                out += np.clip(llr - np.median(llr), -9.0, 9.0) / len(members)
        return out / len(feats)

    def active_probability(self, exercise: str, landmarks: np.ndarray, fps: float | None = None,
                           width: float | None = None, height: float | None = None) -> np.ndarray:
        """Per-frame P(Active) with equal priors (the logistic of :meth:`score`)."""
        return 1.0 / (1.0 + np.exp(-self.score(exercise, landmarks, fps, width, height)))

    # -- persistence ------------------------------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        """The fitted parameters as named arrays (``model.npz``)."""
        out: dict[str, np.ndarray] = {}
        for ex, m in self.models.items():
            out[f"{ex}/frames"] = np.asarray(m.frames)
            for view in m.mean:
                out[f"{ex}/{view}/mean"], out[f"{ex}/{view}/std"] = m.mean[view], m.std[view]
                for st in STATES:
                    for i, g in enumerate(m.mixtures[(view, st)]):
                        key = _member_key(ex, view, st, i)
                        out.update({f"{key}/weights": g.weights_, f"{key}/means": g.means_,
                                    f"{key}/covariances": g.covariances_,
                                    f"{key}/precisions_cholesky": g.precisions_cholesky_})
        return out

    @classmethod
    def _load(cls, folder: Path) -> GMMCounter:
        from sklearn.mixture import GaussianMixture

        config = json.loads((folder / "config.json").read_text())
        params = GMMParams.from_json(config["params"])
        with np.load(folder / "model.npz", allow_pickle=False) as npz:  # arrays only: no pickle
            arrays = {k: npz[k] for k in npz.files}
        models = {}
        for ex in config["exercises"]:
            mean, std, mixtures = {}, {}, {}
            for view in params.views:
                mean[view], std[view] = arrays[f"{ex}/{view}/mean"], arrays[f"{ex}/{view}/std"]
                for st in STATES:
                    mixtures[(view, st)] = []
                    for i in range(max(1, params.ensemble)):
                        key = _member_key(ex, view, st, i)
                        g = GaussianMixture(n_components=len(arrays[f"{key}/weights"]),
                                            covariance_type=params.covariance)
                        g.weights_, g.means_ = arrays[f"{key}/weights"], arrays[f"{key}/means"]
                        g.covariances_ = arrays[f"{key}/covariances"]
                        g.precisions_cholesky_ = arrays[f"{key}/precisions_cholesky"]
                        g.converged_, g.n_iter_, g.lower_bound_ = True, 0, 0.0
                        g.n_features_in_ = g.means_.shape[1]
                        mixtures[(view, st)].append(g)
            models[ex] = ExerciseModel(mean, std, mixtures, int(arrays[f"{ex}/frames"]))
        state = StateParams.from_json(config["state"]) if config.get("state") else None
        return cls(models, params, config["run_id"], state=state)


def _member_key(ex: str, view: str, st: str, member: int) -> str:
    """Array name prefix of one ensemble member in ``model.npz`` (member 0 keeps the name runs
    saved before the ensemble use)."""
    return f"{ex}/{view}/{st}" + (f"/{member}" if member else "")


def _fit_exercise(landmarks: np.ndarray, active: np.ndarray, params: GMMParams) -> ExerciseModel:
    from sklearn.mixture import GaussianMixture

    if params.mirror:
        norm = minmax(landmarks)
        landmarks = np.concatenate([norm, mirror(norm)])
        active = np.concatenate([active, active])
    feats = frame_features(landmarks, params.views)
    mean, std, mixtures = {}, {}, {}
    for view, x in feats.items():
        mean[view] = x.mean(axis=0)
        std[view] = np.maximum(x.std(axis=0), 1e-6)
        z = (x - mean[view]) / std[view]
        for st, sel in (("A", active), ("R", ~active)):
            k = max(1, min(params.components, len(np.unique(z[sel], axis=0))))  # fewer distinct frames than components
            mixtures[(view, st)] = [
                GaussianMixture(n_components=k, covariance_type=params.covariance, reg_covar=params.reg_covar,
                                random_state=params.seed + m).fit(z[sel])
                for m in range(max(1, params.ensemble))]
    return ExerciseModel(mean, std, mixtures, len(landmarks))


# --------------------------------------------------------------------------------------------
# Training from the store
# --------------------------------------------------------------------------------------------

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
    refuse_existing_run(run_id)  # before any work (as for the other models)
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
              "state": asdict(counter.state), "clips_per_exercise": clips_per_exercise, "split": split,
              "labels": "segments (state A/R, else repetition), origin imported|human"}
    save_run(run_id, config, metrics, counter.arrays())
    return run_id, metrics
