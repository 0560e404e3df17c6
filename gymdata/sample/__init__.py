"""Built-in synthetic sample corpus: learnable, deterministic, small.

`generate_sample` simulates subjects of different builds performing squats, single-leg
Romanian deadlifts and lunges with an articulated 3D skeleton in the MediaPipe BlazePose
33-landmark layout, injects form faults per repetition on purpose, renders every take from a
frontal and a lateral camera, and writes the result in two real-world layouts at once:

* ``alex-gym-1/``: the ALEX-GYM-1 layout (one spreadsheet row per repetition, 16 JPEG frames
  and 16 x 33 x 3 poses per repetition and view);
* ``videos/``: whole-take H.264 videos with a scorer CSV (``relative_path,exercise_type,score``)
  and a RepCount-A style CSV;

plus ``truth.json`` (every label, by construction) and ``poses/*.npy`` (per-frame landmarks).

World frame: metres, X = the subject's left, Y = up, Z = the direction the subject faces; the
floor is Y = 0. The frontal camera stands on +Z looking back at the subject, the lateral camera
on +X (the subject's left side), so the subject's right side is the occluded one laterally.

Every fault moves the landmarks by far more than subjects differ from one another (several
percent of body height, or tens of degrees of a joint angle, at the phase where it matters),
and the same pose is drawn, so models trained on poses or pixels can learn every criterion.

Modules, one job each:

* :mod:`~gymdata.sample.criteria`: the exercises and their ALEX-GYM-1 criteria (the faults);
* :mod:`~gymdata.sample.body`: simulated people and the articulated skeleton (kinematics);
* :mod:`~gymdata.sample.motion`: takes: repetition timing, faults and motion per frame;
* :mod:`~gymdata.sample.render`: cameras, drawing, and the landmarks a detector would report;
* :mod:`~gymdata.sample.video`: the deterministic H.264 encoder;
* :mod:`~gymdata.sample.generate`: :func:`generate_sample`, writing both layouts. The ALEX-GYM-1
  files go through :mod:`gymdata.layouts.alexgym`, the one writer of that layout (the exporter and
  the tests' fake corpus use it too).
"""

from __future__ import annotations

from gymdata.sample.criteria import CRITERIA, EXERCISES, Criterion
from gymdata.sample.generate import generate_sample

__all__ = ["CRITERIA", "EXERCISES", "Criterion", "generate_sample"]
