"""A fake FLEX: frames of every view, skeleton and sEMG CSVs, the Split_4 .mat lists, our knowledge graph.

Faithful where the authors' loader can tell: ``A%02d/%03d/View-<k>/img_%05d.JPG`` (upper-case
extension, 1-based), ``Skeleton/A%02d/%03d/skeleton_points.csv`` (one header row, 63 numbers per
row: 21 joints x (x, y, z), one row per frame), ``EMG/A%02d/%03d/EMG.csv`` (no header, 4 columns),
``Split_4/split_4_{train,test}_list.mat`` with keys ``consolidated_{train,test}_list`` holding
``[action, sample, score]`` rows as MATLAB doubles. The skeleton's header text is not published
(the loader skips it), so ours is made up. ``knowledge_graph.json`` and ``subjects.csv`` are in our
own documented formats (docs/knowledge_graph.md).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

JOINTS = 21
AXES = ("X", "Y", "Z")


def knowledge_graph(samples: list[tuple[int, int]], frames: int) -> dict:
    """A knowledge graph for actions 16 (squat) and others, with an annotation per sample."""
    actions = []
    for action in sorted({a for a, _ in samples}):
        aid = f"A{action:02d}"
        if action == 16:
            entry = {"id": aid, "name": "barbell back squat", "exercise": "squat",
                     "keysteps": [{"id": "AK44", "name": "eccentric"}, {"id": "AK45", "name": "concentric"}],
                     "error_types": [
                         {"id": "ET050", "name": "knees cave in", "keystep": "AK44", "points": 5,
                          "feedback": "Push your knees out over your toes."},
                         {"id": "ET051", "name": "heels lift", "keystep": "AK45", "points": 3,
                          "feedback": "Keep your whole foot on the floor."},
                         {"id": "ET052", "name": "bar path drifts forward", "points": 2,
                          "feedback": "Keep the bar over mid-foot."}]}
        else:
            k = 2 * action
            entry = {"id": aid, "name": f"action {action}",
                     "keysteps": [{"id": f"AK{k:02d}", "name": "lowering"},
                                  {"id": f"AK{k + 1:02d}", "name": "lifting"}],
                     "error_types": [{"id": f"ET{3 * action:03d}", "name": "uncontrolled lowering",
                                      "keystep": f"AK{k:02d}", "points": 4,
                                      "feedback": "Lower the weight slowly."}]}
        actions.append(entry)
    keysteps = {a["id"]: [k["id"] for k in a["keysteps"]] for a in actions}
    errors = {a["id"]: [e["id"] for e in a["error_types"]] for a in actions}
    annotations = []
    half = frames // 2
    for i, (action, sample) in enumerate(samples):
        aid = f"A{action:02d}"
        ks = keysteps[aid]
        reps = []
        for start, end in ((0, half - 1), (half, frames - 1)):
            mid = (start + end) // 2
            reps.append({"start_frame": start, "end_frame": end,
                         "phases": [{"keystep": ks[0], "start_frame": start, "end_frame": mid},
                                    {"keystep": ks[1], "start_frame": mid + 1, "end_frame": end}]})
        penalties = [{"error_type": errors[aid][0], "start_frame": 1, "end_frame": 2}]
        if i % 2:
            penalties.append({"error_type": errors[aid][-1], "points": 1.5, "feedback": "Almost: slow down a bit."})
        annotations.append({"action": aid, "sample": sample, "subject": f"S{i % 3 + 1:02d}",
                            "skill_level": ("novice", "intermediate", "expert")[i % 3],
                            "start_frame": 0, "end_frame": frames - 1, "repetitions": reps,
                            "penalties": penalties})
    return {"format": "gymdata.flex-knowledge-graph", "version": 1, "actions": actions, "annotations": annotations}


def write_flex(root: Path, *, actions: tuple[int, ...] = (3, 16), samples: int = 2, views: int = 5,
               frames: int = 12, emg_rows: int = 40, seed: int = 0, graph: bool = True, subjects: bool = True,
               phantom: bool = True) -> dict:
    """Write a fake FLEX under ``root``.

    Args:
        root: Corpus root to create.
        actions: Action numbers (1-20).
        samples: Samples per action.
        views: Views per sample.
        frames: Frames per view (and skeleton rows).
        emg_rows: sEMG rows per sample.
        seed: Random seed.
        graph: Write ``knowledge_graph.json`` annotating every sample.
        subjects: Write ``subjects.csv`` (agreeing with the graph).
        phantom: List one sample in the train .mat that is not on disk (reported, skipped).

    Returns:
        Expected row counts per table, ``skipped``, the samples and the graph written.
    """
    import cv2
    import scipy.io

    rng = np.random.default_rng(seed)
    ok, jpg = cv2.imencode(".jpg", np.full((30, 40, 3), 120, np.uint8))
    assert ok
    keys = [(a, s) for a in actions for s in range(1, samples + 1)]
    for action, sample in keys:
        rel = Path(f"A{action:02d}") / f"{sample:03d}"
        for k in range(1, views + 1):
            folder = root / rel / f"View-{k}"
            folder.mkdir(parents=True)
            for i in range(1, frames + 1):
                (folder / f"img_{i:05d}.JPG").write_bytes(jpg.tobytes())
        skeleton = root / "Skeleton" / rel / "skeleton_points.csv"
        skeleton.parent.mkdir(parents=True)
        with open(skeleton, "w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow([f"J{j:02d}_{a}" for j in range(JOINTS) for a in AXES])
            w.writerows((rng.normal(0, 400, (frames, JOINTS * 3))).round(4).tolist())
        emg = root / "EMG" / rel / "EMG.csv"
        emg.parent.mkdir(parents=True)
        with open(emg, "w", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rng.normal(0, 0.05, (emg_rows, 4)).round(6).tolist())
    train = [(a, s, float(rng.uniform(30, 95)).__round__(2)) for a, s in keys if s % 2]
    test = [(a, s, float(rng.uniform(30, 95)).__round__(2)) for a, s in keys if not s % 2]
    if phantom:
        train.append((20, 1, 50.0))
    (root / "Split_4").mkdir()
    scipy.io.savemat(str(root / "Split_4" / "split_4_train_list.mat"),
                     {"consolidated_train_list": np.asarray(train, dtype=float).reshape(-1, 3)})
    scipy.io.savemat(str(root / "Split_4" / "split_4_test_list.mat"),
                     {"consolidated_test_list": np.asarray(test, dtype=float).reshape(-1, 3)})
    kg = knowledge_graph(keys, frames)
    if graph:
        (root / "knowledge_graph.json").write_text(json.dumps(kg, indent=2))
    if subjects:
        with open(root / "subjects.csv", "w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["action", "sample", "subject", "skill_level"])
            w.writerows([[a["action"], a["sample"], a["subject"], a["skill_level"]] for a in kg["annotations"]])
    n = len(keys)
    per_sample_segments = sum(1 + len(r["phases"]) for r in kg["annotations"][0]["repetitions"])
    return {
        "videos": n * views,
        "scores": n * views,
        "segments": n * views * per_sample_segments if graph else 0,
        "penalties": views * sum(len(a["penalties"]) for a in kg["annotations"]) if graph else 0,
        "poses": n * frames,
        "signals": 4 * n,
        "skipped": int(phantom),
        "samples": keys,
        "graph": kg,
    }
