"""The generator's entry point: simulate, render and write every take in both layouts."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from gymdata.layouts import alexgym as alex_layout
from gymdata.sample.body import _build_points, _make_subject, _Subject
from gymdata.sample.criteria import CRITERIA, EXERCISES
from gymdata.sample.motion import _Motion, _plan_take, _Rep
from gymdata.sample.render import _background, _Camera, _cameras, _landmarks, _Palette, _render, _visibility
from gymdata.sample.video import _VideoWriter

_DETECTOR_FAILURE = {"frontal": 0.03, "lateral": 0.06}
_VIEWS = ("frontal", "lateral")
_JPEG_PARAMS = [cv2.IMWRITE_JPEG_QUALITY, 75, cv2.IMWRITE_JPEG_OPTIMIZE, 1]


def _alex_columns(ex: str) -> list[str]:
    """The ALEX-GYM-1 sheet header of an exercise, in the corpus's order."""
    crit = CRITERIA[ex]
    front = [c for c in crit if c.view == "F"]
    lat = [c for c in crit if c.view == "L"]
    pf, pl = sum(c.points for c in front), sum(c.points for c in lat)
    return alex_layout.sheet_columns([c.name for c in front], [c.name for c in lat],
                                     {"frontal": pf, "lateral": pl, "total": pf + pl})


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _write_json(path: Path, obj: object, indent: int | None = None) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=indent, separators=(",", ": ") if indent else (",", ":"))


def _ar_runs(reps: list[_Rep], n_frames: int) -> list[list]:
    """Active (A) / resting (R) runs as inclusive [start, end, label] covering every frame."""
    runs, cursor = [], 0
    for rep in reps:
        if rep.start > cursor:
            runs.append([cursor, rep.start - 1, "R"])
        runs.append([rep.start, rep.end, "A"])
        cursor = rep.end + 1
    if cursor < n_frames:
        runs.append([cursor, n_frames - 1, "R"])
    return runs


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------

def _check_args(subjects: int, takes: int, reps: tuple[int, int], fps: int, size: int,
                exercises: Sequence[str], fault_rate: float) -> None:
    if subjects < 1 or takes < 1:
        raise ValueError(f"subjects and takes must be >= 1, got {subjects} and {takes}")
    lo, hi = reps
    if not 1 <= lo <= hi <= alex_layout.MAX_REPS:
        raise ValueError(f"reps must satisfy 1 <= min <= max <= {alex_layout.MAX_REPS} "
                         f"(ALEX-GYM-1 records at most 5 per recording), got {reps}")
    if fps < 8:
        raise ValueError(f"fps must be >= 8, got {fps}")
    if size < 64 or size % 2:
        raise ValueError(f"size must be an even number >= 64 (H.264 yuv420p), got {size}")
    unknown = [e for e in exercises if e not in EXERCISES]
    if unknown or not exercises or len(set(exercises)) != len(exercises):
        raise ValueError(f"exercises must be distinct names among {EXERCISES}, got {list(exercises)}")
    if not 0.0 <= fault_rate <= 1.0:
        raise ValueError(f"fault_rate must be in [0, 1], got {fault_rate}")


def generate_sample(out_dir: str | Path, *, seed: int = 0, subjects: int = 6, takes: int = 2,
                    reps: tuple[int, int] = (3, 5), fps: int = 30, size: int = 224,
                    exercises: Sequence[str] = EXERCISES, fault_rate: float = 0.35,
                    progress: bool = False, overwrite: bool = False) -> dict:
    """Generates the synthetic sample corpus.

    Each take is one subject doing N repetitions (N drawn from ``reps``) of one exercise, with
    short rests standing still before, between and after them; every ALEX-GYM-1 criterion of
    the exercise fails independently per repetition with probability ``fault_rate``. The same
    arguments always give byte-identical files. The tree is built in a hidden sibling folder
    and renamed into place, so ``out_dir`` is either complete or untouched.

    Layout written under ``out_dir``::

        alex-gym-1/{squat,deadlift,lunges}.xlsx           one row per repetition
        alex-gym-1/{front,lat}_pose_{squat,deadlift,lunges}.json
        alex-gym-1/{Squat_frames,Deadlift_Frames,lunges_Frames}/{video}_idx_{NumIdx}_{i}.jpg
        alex-gym-1/subjects.csv                            Num Video Frontal,Num Video Lateral,subject
        videos/{squat,deadlift,lunge}/<subject>_take<k>_{frontal,lateral}.mp4
        videos/exercise_scores.csv                         relative_path,exercise_type,score
        videos/subjects.csv                                relative_path,subject,view,recording
        videos/repcount.csv                                ,type,name,count,L1,L2,...
        truth.json                                         every label, per take and repetition
        poses/<take_id>_<view>.npy                         float32 (frames, 33, 4): x, y, z, visibility

    Frame numbers (repetition bounds, A/R runs, RepCount L columns) are 0-based and inclusive.

    Args:
        out_dir: Folder to create (must not exist, or be empty, unless ``overwrite``).
        seed: Seed of every random choice.
        subjects: Number of simulated people.
        takes: Takes per subject and exercise.
        reps: Inclusive range of repetitions per take (at most 5, as in ALEX-GYM-1).
        fps: Frame rate of the simulation and the videos.
        size: Width and height of the rendered frames in pixels.
        exercises: Subset of ``("squat", "deadlift", "lunge")``.
        fault_rate: Probability that each criterion fails in each repetition.
        progress: Print one line per take to stderr.
        overwrite: Replace a non-empty ``out_dir``.

    Returns:
        A summary: counts (subjects, takes, repetitions, videos, frames, JPEGs, bytes) and the
        main paths (``out_dir``, ``alex``, ``videos``, ``truth``, ``poses``).

    Raises:
        FileExistsError: ``out_dir`` exists, is not empty and ``overwrite`` is false.
        ValueError: An argument is out of range.
    """
    _check_args(subjects, takes, reps, fps, size, exercises, fault_rate)
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty; pass overwrite=True to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    from gymdata.safety import clean_leftovers, naming

    clean_leftovers(out.parent, out.name)  # what a killed run left behind
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        with naming(out, tmp):  # a write that fails without a file name (a full disk): name the output
            summary = _generate_into(tmp, seed=seed, n_subjects=subjects, n_takes=takes, reps=reps, fps=fps,
                                     size=size, exercises=list(exercises), fault_rate=fault_rate,
                                     progress=progress)
        os.chmod(tmp, 0o755)  # mkdtemp creates 0700
        if out.exists():
            old = out.parent / f".{out.name}.old-{tmp.name.rsplit('-', 1)[-1]}"
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    summary["out_dir"] = str(out)
    for key in ("alex", "videos", "truth", "poses"):
        summary[key] = str(out / summary[key])
    return summary


def _generate_into(root: Path, *, seed: int, n_subjects: int, n_takes: int, reps: tuple[int, int], fps: int,
                   size: int, exercises: list[str], fault_rate: float, progress: bool) -> dict:
    alex, videos = root / "alex-gym-1", root / "videos"
    for d in (alex, videos, root / "poses"):
        d.mkdir()
    people = [_make_subject(seed, i) for i in range(n_subjects)]
    truth_takes: list[dict] = []
    alex_subjects: list[list] = []
    scores_rows: list[list] = []
    video_subject_rows: list[list] = []
    repcount_rows: list[list] = []
    n_frames_total = n_jpegs = 0
    recording = 0
    total = len(exercises) * n_subjects * n_takes
    for ex in exercises:
        ex_i = EXERCISES.index(ex)
        frames_dir = alex / alex_layout.RELEASE[ex].frames
        frames_dir.mkdir()
        (videos / ex).mkdir()
        cams = _cameras(ex, size)
        sheet_rows: list[list] = []
        pose_json: dict[str, list] = {v: [] for v in _VIEWS}
        for s in people:
            for k in range(1, n_takes + 1):
                recording += 1
                rng = np.random.default_rng([seed, 2, ex_i, int(s.id[1:]), k])
                nums = {"frontal": 2 * recording - 1, "lateral": 2 * recording}
                take, json_entries = _render_take(ex, s, k, rng, fps, cams, reps, fault_rate, nums, root,
                                                  frames_dir)
                take["alex"] = {"num_video_frontal": nums["frontal"], "num_video_lateral": nums["lateral"]}
                truth_takes.append(take)
                n_frames_total += take["n_frames"] * 2
                n_jpegs += len(take["reps"]) * 2 * alex_layout.FRAMES_PER_REP
                alex_subjects.append([nums["frontal"], nums["lateral"], s.id])
                for rep in take["reps"]:
                    sheet_rows.append(_alex_row(ex, nums, rep))
                for view in _VIEWS:
                    pose_json[view].extend(json_entries[view])
                    rel = take["videos"][view].split("/", 1)[1]  # relative to videos/
                    scores_rows.append([rel, ex, take["score"]])
                    video_subject_rows.append([rel, s.id, view, take["take_id"]])
                    bounds = [b for r in take["reps"] for b in r["frames"]]
                    repcount_rows.append([ex, rel, len(take["reps"])] + bounds)
                if progress:
                    print(f"[gymdata.sample] {len(truth_takes)}/{total} {take['take_id']}: "
                          f"{len(take['reps'])} reps, {take['n_frames']} frames", file=sys.stderr)
        name = alex_layout.RELEASE[ex].sheet
        alex_layout.write_sheet(alex / f"{name}.xlsx", _alex_columns(ex), sheet_rows)
        for view in _VIEWS:
            alex_layout.write_poses(alex / alex_layout.pose_file(name, view), pose_json[view])

    alex_layout.write_subjects(alex / alex_layout.SUBJECTS_FILE, alex_subjects)
    _write_csv(videos / "exercise_scores.csv", ["relative_path", "exercise_type", "score"], scores_rows)
    _write_csv(videos / "subjects.csv", ["relative_path", "subject", "view", "recording"], video_subject_rows)
    width = max(len(r) for r in repcount_rows) - 3
    header = ["", "type", "name", "count"] + [f"L{i + 1}" for i in range(width)]
    _write_csv(videos / "repcount.csv", header,
               [[i] + r + [""] * (width + 3 - len(r)) for i, r in enumerate(repcount_rows)])
    truth = {
        "generator": "gymdata.sample",
        "params": {"seed": seed, "subjects": n_subjects, "takes": n_takes, "reps": list(reps), "fps": fps,
                   "size": size, "exercises": exercises, "fault_rate": fault_rate},
        "conventions": {"frames": "0-based, inclusive [start, end]",
                        "world": "metres; x = subject's left, y = up, z = facing direction",
                        "lateral_camera": "on the subject's left side"},
        "criteria": {ex: [{"key": c.key, "name": c.name, "view": c.view, "points": c.points, "fault": c.fault}
                          for c in CRITERIA[ex]] for ex in exercises},
        "subjects": {s.id: {"height": round(s.height, 4), "thigh": round(s.thigh, 4), "shin": round(s.shin, 4),
                            "hip_width": round(s.hip_w, 4), "shoulder_width": round(s.shoulder_w, 4),
                            "trunk": round(s.trunk, 4), "tempo": round(s.tempo, 4), "colors": s.colors}
                     for s in people},
        "takes": truth_takes,
    }
    _write_json(root / "truth.json", truth, indent=1)
    n_reps = sum(len(t["reps"]) for t in truth_takes)
    return {
        "subjects": n_subjects, "takes": len(truth_takes), "repetitions": n_reps, "n_videos": 2 * len(truth_takes),
        "frames": n_frames_total, "jpegs": n_jpegs,
        "bytes": sum(p.stat().st_size for p in root.rglob("*") if p.is_file()),
        "alex": "alex-gym-1", "videos": "videos", "truth": "truth.json", "poses": "poses",
    }


def _alex_row(ex: str, nums: dict[str, int], rep: dict) -> list:
    crit = CRITERIA[ex]
    front = [c for c in crit if c.view == "F"]
    lat = [c for c in crit if c.view == "L"]
    pts = rep["points"]
    pf, pl = sum(pts[c.name] for c in front), sum(pts[c.name] for c in lat)
    cell, names = alex_layout.cell, alex_layout.RELEASE[ex]
    return ([nums["frontal"], nums["lateral"], rep["index"], names.action]
            + [cell(pts[c.name]) for c in front] + [cell(pf)]
            + [cell(pts[c.name]) for c in lat] + [cell(pl), cell(pf + pl), names.cls, round(rep["score"])])


def _render_take(ex: str, s: _Subject, k: int, rng: np.random.Generator, fps: int, cams: dict[str, _Camera],
                 reps_range: tuple[int, int], fault_rate: float, nums: dict[str, int], root: Path,
                 frames_dir: Path) -> tuple[dict, dict[str, list]]:
    """Simulates, renders and writes one take (videos, JPEGs, pose arrays).

    Returns:
        The take's ``truth.json`` entry and its ALEX-GYM-1 pose entries (one per repetition)
        per view.
    """
    take_id = f"{s.id}_{ex}_take{k}"
    n_reps = int(rng.integers(reps_range[0], reps_range[1] + 1))
    reps, n_frames = _plan_take(ex, s, n_reps, fps, fault_rate, rng)
    motion = _Motion(ex, s, reps, rng, fps)
    bgs = {v: _background(cams[v], rng) for v in _VIEWS}
    pal = _Palette.of(s)
    sample_at = {r.index: np.linspace(r.start, r.end, alex_layout.FRAMES_PER_REP).round().astype(int) for r in reps}
    # A frame is sampled twice only in very short reps; keep every (rep, i) it serves.
    serves: dict[int, list[tuple[int, int]]] = {}
    for r in reps:
        for i, f in enumerate(sample_at[r.index]):
            serves.setdefault(int(f), []).append((r.index, i + 1))
    videos = {v: f"videos/{ex}/{s.id}_take{k}_{v}.mp4" for v in _VIEWS}
    poses = {v: f"poses/{take_id}_{v}.npy" for v in _VIEWS}
    writers = {v: _VideoWriter(root / videos[v], fps, cams[v].size) for v in _VIEWS}
    lms = {v: np.zeros((n_frames, 33, 4), np.float32) for v in _VIEWS}
    try:
        for frame in range(n_frames):
            pts = _build_points(s, motion.pose(frame))
            for v in _VIEWS:
                uv, depth = cams[v].project(pts)
                img = _render(s, pal, pts, cams[v], bgs[v], uv, depth)
                writers[v].write(img)
                lms[v][frame, :, :3] = _landmarks(uv, depth, cams[v])
                for rep_i, i in serves.get(frame, ()):
                    _, jpg = cv2.imencode(".jpg", img, _JPEG_PARAMS)
                    (frames_dir / alex_layout.frame_name(nums[v], rep_i, i)).write_bytes(jpg.tobytes())
    finally:
        for w in writers.values():
            w.close()
    json_entries: dict[str, list] = {}
    for v in _VIEWS:
        # Detector noise: per-subject jitter on x, y, z and a fixed visibility profile.
        lm = lms[v]
        lm[:, :, :3] += (s.jitter * rng.standard_normal((n_frames, 33, 3))).astype(np.float32)
        lm[:, :, 3] = np.clip(_visibility(v) + 0.03 * rng.standard_normal((n_frames, 33)), 0, 1)
        np.save(root / poses[v], lm)
        entries = []
        for r in reps:
            xyz = lm[sample_at[r.index], :, :3].copy()
            failed = rng.random(alex_layout.FRAMES_PER_REP) < _DETECTOR_FAILURE[v]
            xyz[failed] = 0.0
            entries.append(np.round(xyz.astype(np.float64), 4).tolist())
        json_entries[v] = entries
    rep_truth = []
    for r in reps:
        verdicts = {c.name: c.key not in r.faults for c in CRITERIA[ex]}
        points = {c.name: (c.points if verdicts[c.name] else 0.0) for c in CRITERIA[ex]}
        max_pts = sum(c.points for c in CRITERIA[ex])
        rep_truth.append({
            "index": r.index, "frames": [r.start, r.end],
            "faults": [c.name for c in CRITERIA[ex] if c.key in r.faults],
            "fault_keys": sorted(r.faults), "fault_details": r.details,
            "criteria": verdicts, "points": points, "score": round(sum(points.values()) / max_pts * 100, 4),
            "alex_frames": sample_at[r.index].tolist(),
        })
    take = {
        "take_id": take_id, "subject": s.id, "exercise": ex, "take": k,
        "fps": fps, "n_frames": n_frames, "size": cams["frontal"].size, "videos": videos, "poses": poses,
        "support_side": ("left" if motion.support > 0 else "right") if ex == "deadlift" else None,
        "reps": rep_truth,
        "score": round(float(np.mean([r["score"] for r in rep_truth])), 1),
        "ar_runs": _ar_runs(reps, n_frames),
    }
    return take, json_entries
