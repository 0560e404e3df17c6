"""Judging videos with a trained run (``gymdata score``): the :class:`Scorer` and a video file's
report; the live loop is :mod:`baselines.live`, drawing :mod:`baselines.overlay`, the ONNX export
:mod:`baselines.deploy`, the commands :mod:`baselines.cli`.

``gymdata score VIDEO [VIDEO2] --run RUN``: BlazePose landmarks for every frame
(:func:`gymdata.pose.file_poses`, video mode, content-cached), the model's inputs sampled
uniformly over the clip (T frames, the run's size), the model, and:

* a JSON report: the exercise recognised and its confidence, every criterion of that exercise
  passed or failed with its probability, the score (a regressed 0..100 score for ``bilstm`` runs,
  the share of criteria passed otherwise), and the repetitions found by :mod:`baselines.counting`
  (its label-free periodic counter, or a ``gmm`` run given with ``--counter``). The criteria
  models learnt from single repetitions (ALEX-GYM-1 rows), so each repetition is judged on its
  own (``per_repetition``) and the report gives their mean; a clip with no repetition found is
  judged whole;
* an overlay video per input: the skeleton, the verdict of the repetition under way (the overall
  one between repetitions), the score, the repetitions done so far.

A run trained on two views (frontal, lateral) takes two videos, in that order; single-view runs
(``--views any`` or one view) take one.

``gymdata score --live SOURCE --run RUN``: the same on an OpenCV source (a camera index such as
``0``, a URL or a file) frame by frame: a window of the last ``--window`` seconds is judged every
``--every`` frames (and the repetitions so far counted), and the running verdict, the count and
the frames/s are drawn on every frame. With a
display, frames are shown in a window (``q`` quits); headless (``--headless``, or no ``$DISPLAY``)
the annotated frames are written to ``--output`` instead, and no GUI call is made.

"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from baselines.evaluation import load_run
from baselines.nets import LabelSpace, model_inputs
from baselines.overlay import write_overlay
from gymdata.errors import InputError

log = logging.getLogger("gymdata")


# --------------------------------------------------------------------------------------------
# The model side
# --------------------------------------------------------------------------------------------

class Scorer:
    """A trained run, ready to judge one sample at a time.

    Args:
        run: Run id or folder.
        device: Torch device.
    """

    def __init__(self, run: str | Path, device: str = "cpu"):
        self.device = torch.device(device)
        self.model, self.config = load_run(run, device=self.device)
        self.space = LabelSpace.from_meta(self.config["space"])
        self.views: list[str] | None = self.config["views"]
        self.n_views = len(self.views) if self.views else 1
        self.frames, self.size = int(self.config["frames"]), int(self.config["size"])
        self.needs_video = "video" in self.model.input_names
        self.needs_pose = bool({"pose", "normalized"} & set(self.model.input_names))

    @torch.no_grad()
    def judge(self, landmarks: np.ndarray | None, video: np.ndarray | None) -> dict:
        """Verdict on one sample.

        Args:
            landmarks: ``(V, T, 33, 4)`` image-normalised landmarks (zeros where no person), if the
                model takes poses.
            video: ``(V, T, size, size, 3)`` uint8 RGB, if the model takes video.

        Returns:
            ``exercise`` (name, confidence, probabilities), ``criteria`` (name, probability, passed)
            when the model judges criteria, ``score`` (value 0..100 and what it is).
        """
        batch = {}
        if self.needs_pose:
            batch["pose"] = torch.from_numpy(np.ascontiguousarray(landmarks, np.float32)[None])
        if self.needs_video:
            batch["video"] = torch.from_numpy(np.ascontiguousarray(video, np.uint8)[None])
        out = self.model(*model_inputs(batch, self.model.input_names, self.device))
        return self.verdict({k: v.float().cpu()[0] for k, v in out.items()})

    def verdict(self, out: dict[str, torch.Tensor]) -> dict:
        """Turn one sample's raw outputs into the report's fields."""
        names = self.space.exercises
        if "exercise" in out:
            probs = torch.softmax(out["exercise"], -1).numpy()
            e = int(probs.argmax())
        else:  # trained on one exercise: that is the only answer it can give
            probs, e = np.ones(1), 0
        result: dict = {"exercise": {"name": names[e], "confidence": round(float(probs[e]), 4),
                                     "probabilities": {n: round(float(p), 4) for n, p in zip(names, probs)}}}
        if "criteria" in out:
            crit = self.space.criteria.get(names[e], ())
            p = torch.sigmoid(out["criteria"][e, :len(crit)]).numpy()
            result["criteria"] = [{"criterion": c, "probability": round(float(q), 4), "passed": bool(q >= 0.5)}
                                  for c, q in zip(crit, p)]
            passed = sum(c["passed"] for c in result["criteria"])
            result["score"] = {"value": round(100 * passed / max(len(crit), 1), 2), "scale": [0, 100],
                               "kind": "criteria passed (%)"}
        if "score" in out:
            result["score"] = {"value": round(100 * float(out["score"]), 2), "scale": [0, 100], "kind": "regressed"}
        return result


def mean_verdict(verdicts: list[dict], scorer: Scorer) -> dict:
    """One verdict for several repetitions: exercise probabilities and criterion probabilities
    averaged, scores averaged."""
    if len(verdicts) == 1:
        return verdicts[0]
    names = scorer.space.exercises
    probs = np.mean([[v["exercise"]["probabilities"][n] for n in names] for v in verdicts], axis=0)
    e = int(probs.argmax())
    out: dict = {"exercise": {"name": names[e], "confidence": round(float(probs[e]), 4),
                              "probabilities": {n: round(float(p), 4) for n, p in zip(names, probs)}}}
    same = [v for v in verdicts if v["exercise"]["name"] == names[e] and "criteria" in v]
    if same:
        crit = [c["criterion"] for c in same[0]["criteria"]]
        p = np.mean([[c["probability"] for c in v["criteria"]] for v in same], axis=0)
        out["criteria"] = [{"criterion": c, "probability": round(float(q), 4), "passed": bool(q >= 0.5)}
                           for c, q in zip(crit, p)]
    scores = [v["score"]["value"] for v in verdicts if "score" in v]
    if scores:
        out["score"] = {**verdicts[0]["score"], "value": round(float(np.mean(scores)), 2)}
    return out


# --------------------------------------------------------------------------------------------
# A video file
# --------------------------------------------------------------------------------------------

def count_repetitions(landmarks: np.ndarray, info, exercise: str | None, counter_run: str | None = None):
    """Repetitions of a clip by :mod:`baselines.counting` (a trained ``gmm`` run, or the
    label-free periodic counter); a ``CountResult``."""
    from baselines.counting import PeriodicCounter
    from baselines.counting_data import count_clip, load_counter

    counter = load_counter(counter_run) if counter_run else PeriodicCounter()
    return count_clip(counter, landmarks, {"fps": info.fps, "width": info.width, "height": info.height,
                                                    "exercise": exercise})


def window_indices(n: int, t: int, start: int = 0, end: int | None = None) -> np.ndarray:
    """``t`` frame indices spread uniformly over frames ``start..end`` of ``n`` (default all)."""
    from gymdata.media import sample_indices

    end = n - 1 if end is None else end
    return start + sample_indices(end - start + 1, t)


def _video_frames(path: Path, indices: np.ndarray, size: int) -> np.ndarray:
    from gymdata.media import resize_frame
    from gymdata.media import iter_video

    frames = {i: resize_frame(rgb, size) for i, rgb in iter_video(path, sorted(set(indices.tolist())))}
    last = frames[max(frames)] if frames else np.zeros((size, size, 3), np.uint8)
    return np.stack([frames.get(int(i), last) for i in indices])


def score_video(videos: Sequence[str | Path], run: str | Path, *, out_dir: str | Path | None = None,
                overlay: bool = True, counter_run: str | None = None, device: str = "cpu") -> dict:
    """Score a video (or one per view, in the run's view order); see the module docstring.

    Returns:
        The report (also written to ``<out_dir>/<stem>.score.json``, default out_dir the current
        folder), with ``overlays`` the paths of the overlay videos.

    Raises:
        InputError: On a wrong number of videos or an unreadable file.
    """
    from gymdata.media import probe_video
    from gymdata.pose import file_poses

    scorer = Scorer(run, device)
    paths = [Path(v) for v in videos]
    if len(paths) != scorer.n_views:
        what = ", ".join(scorer.views) if scorer.views else "any single view"
        raise InputError(f"run {scorer.config['run_id']} takes {scorer.n_views} video(s) ({what}), got {len(paths)}",
                         hint="give one video per view, in that order")
    infos = [probe_video(p) for p in paths]
    for p, info in zip(paths, infos):
        if info.num_frames < 2:
            raise InputError(f"the video has {info.num_frames} frame(s): too short to judge an exercise", path=p,
                             hint="give a clip of at least one repetition")
    t0 = time.perf_counter()
    poses = [dict(zip(("landmarks", "detected"), file_poses(p, info=info).dense())) for p, info in zip(paths, infos)]
    pose_s = time.perf_counter() - t0
    for p, pose in zip(paths, poses):
        # no verdict without a person: the model would still print one, with confidence
        if not pose["detected"].any():
            raise InputError(f"no person was found in any of its {len(pose['detected'])} frames", path=p,
                             hint="film the whole body in view, with enough light")
    n0 = len(poses[0]["landmarks"])

    def judge(start: int, end: int) -> dict:
        lms, vids = [], []
        for p, pose in zip(paths, poses):
            n = len(pose["landmarks"])
            # another view's clip has its own length: the same share of it
            lo, hi = round(start * (n - 1) / max(n0 - 1, 1)), round(end * (n - 1) / max(n0 - 1, 1))
            idx = window_indices(n, scorer.frames, lo, hi)
            lms.append(pose["landmarks"][idx])
            if scorer.needs_video:
                vids.append(_video_frames(p, idx, scorer.size))
        return scorer.judge(np.stack(lms), np.stack(vids) if vids else None)

    whole = judge(0, n0 - 1)
    reps = count_repetitions(poses[0]["landmarks"], infos[0], whole["exercise"]["name"], counter_run)
    # a model that learnt from single repetitions judges each one, and the report their mean
    per_rep = bool(reps.reps) and scorer.config.get("sample_unit") == "repetition"
    segments = [(int(s), int(e)) for s, e in reps.reps] if per_rep else []
    verdicts = [judge(s, e) for s, e in segments] if per_rep else [whole]
    overall = mean_verdict(verdicts, scorer)
    report = {
        "videos": [str(p) for p in paths], "run": scorer.config["run_id"], "model": scorer.config["model"],
        "views": scorer.views or ["any"],
        "frames": [i.num_frames for i in infos], "fps": [round(i.fps, 3) for i in infos],
        "pose": {"detected_frames": [int(p["detected"].sum()) for p in poses], "seconds": round(pose_s, 2)},
        **overall,
        "repetitions": {"count": reps.count, "counter": reps.counter, "reason": reps.reason},
    }
    if per_rep:
        report["per_repetition"] = [{"start_frame": s, "end_frame": e, **v} for (s, e), v in zip(segments, verdicts)]
    out = Path(out_dir) if out_dir else Path.cwd()
    out.mkdir(parents=True, exist_ok=True)
    if overlay:
        report["overlays"] = []
        for p, pose, info in zip(paths, poses, infos):
            k = (len(pose["landmarks"]) - 1) / max(n0 - 1, 1)  # frames of the first view -> this view's
            scaled = lambda spans: [(round(s * k), round(e * k)) for s, e in spans]  # noqa: E731
            report["overlays"].append(str(write_overlay(p, pose, scaled(reps.reps), scaled(segments), verdicts,
                                                        overall, info.fps, out / f"{p.stem}.overlay.mp4")))
    (out / f"{paths[0].stem}.score.json").write_text(json.dumps(report, indent=2))
    report["json"] = str(out / f"{paths[0].stem}.score.json")
    return report
