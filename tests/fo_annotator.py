"""An annotator process for the multi-annotator test: many edits of one dataset, as fast as it can.

Run as ``python -m tests.fo_annotator DATASET ANNOTATOR INDEX EDITS OUT`` with FiftyOne's database in
the environment. Once ready it creates ``OUT.ready`` and starts when ``OUT.go`` exists, so that two
annotators really edit at the same time. Edits go through :func:`annotators.foapi.apply_edits`, the
code path every operator and the panel use (executing the operators themselves costs FiftyOne
~0.2 s each to reload the dataset, which would only make collisions rarer). Every edit changes something (a verdict differs
from this annotator's previous one on that criterion, scores and repetitions differ), so each must
be recorded. Writes ``{"applied": [edit ids], "ops": {op: count}}`` to OUT.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

VERDICTS = ("pass", "fail", "unsure")


def main(dataset_name: str, annotator: str, index: int, edits: int, out: Path) -> None:
    import fiftyone as fo

    from annotators import foapi
    from annotators import labels as L

    dataset = fo.load_dataset(dataset_name)
    samples = list(dataset.select_group_slices(["frontal", "lateral"]).sort_by("video_id"))  # the clips, not the takes
    crits = {s.id: foapi.exercise_criteria(dataset, s.exercise, s.view) for s in samples}
    visits: Counter = Counter()
    applied, ops = [], Counter()
    out.with_suffix(".ready").touch()
    while not out.with_suffix(".go").exists():
        time.sleep(0.05)
    for i in range(edits):
        s = samples[(i // 4) % len(samples)]
        kind, start = i % 4, i // 4
        if kind == 0:
            name = crits[s.id][(i // 16) % len(crits[s.id])]
            visits[(s.id, name)] += 1
            edit = L.make_edit("criterion", annotator, name=name, verdict=VERDICTS[visits[(s.id, name)] % 3])
        elif kind == 1:
            visits[s.id] += 1
            edit = L.make_edit("score", annotator, value=(visits[s.id] * 13 + index * 50) % 101)
        elif kind == 2:  # a repetition no other edit draws: its start is unique to i, its length to the annotator
            edit = L.make_edit("segment", annotator, kind="repetition", label="rep", start=start,
                               end=start + 2 + index)
        else:
            edit = L.make_edit("state", annotator, label="AR"[(start + index) % 2], start=start, end=start + 3)
        applied += [e["id"] for e in foapi.apply_edits(dataset, s.id, [edit])["applied"]]
        ops[edit["op"]] += 1
    out.write_text(json.dumps({"applied": applied, "ops": ops}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5]))
