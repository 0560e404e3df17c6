"""The exercises the sample simulates and their ALEX-GYM-1 criteria (the faults it injects)."""

from __future__ import annotations

from dataclasses import dataclass

EXERCISES: tuple[str, ...] = ("squat", "deadlift", "lunge")


@dataclass(frozen=True)
class Criterion:
    """One ALEX-GYM-1 criterion column.

    Attributes:
        key: Short identifier used in code and in ``truth.json``.
        name: The exact spreadsheet column name.
        view: ``"F"`` (judged from the frontal view) or ``"L"`` (lateral).
        points: Points awarded when the criterion passes (the fault is absent).
        fault: What the injected fault looks like.
    """

    key: str
    name: str
    view: str
    points: float
    fault: str


CRITERIA: dict[str, tuple[Criterion, ...]] = {
    "squat": (
        Criterion("feet_out", "Feet Out 30 F", "F", 1.0, "feet parallel instead of turned out ~30 deg"),
        Criterion("feet_flat", "Whole Feet Flat On the Floor (1) L", "L", 1.0, "heels lift at the bottom"),
        Criterion("simultaneous", "Bend Hips and Knees Simultaniously (1) L", "L", 1.0,
                  "knees bend first, hips follow late"),
        Criterion("hips_back", "Hips backwards (1) L", "L", 1.0,
                  "hips do not travel back, knees shoot forward, torso upright"),
        Criterion("neutral_back", "Lower back neural (1) L", "L", 1.0,
                  "rounded back: spine curves, shoulders protract, head drops"),
        Criterion("depth", "Hips are lower than knees level (1 point) L", "L", 1.0,
                  "shallow depth, hips stay above knees"),
    ),
    "deadlift": (
        Criterion("balance", "Balance (0.5 point) F", "F", 0.5, "lateral sway and wobble, arms flaring"),
        Criterion("straight_back", "Straight back (0.5) L", "L", 0.5, "rounded back"),
        Criterion("back_leg", "Full back leg extended (0.5 point) L", "L", 0.5, "free leg's knee bent"),
        Criterion("slow_reverse", "Slow reverse movement (0.5 point) L", "L", 0.5,
                  "the return phase is much faster than the descent"),
        Criterion("support_knee", "Support knee bend 15-20°\u00a0(0.5\u00a0point) L", "L", 0.5,
                  "support knee locked straight or bent far too much"),
    ),
    "lunge": (
        Criterion("heels_width", "Heels shoulder width apart (0.5 point) F", "F", 0.5, "feet narrow"),
        Criterion("head_forward", "Head looking forward (0.5 point)F", "F", 0.5, "head drops"),
        Criterion("slow_descent", "Bend knees slowly 90° (0.5 point) L", "L", 0.5, "fast, jerky descent"),
        Criterion("no_arm_swing", "Swinging arms (0.5 point) F", "F", 0.5, "arms swing"),
        Criterion("feet_parallel",
                  "Front foot is parallel with the back foot, not on one line with the back foot (0.5 point) F",
                  "F", 0.5, "front foot lands on one line with the back foot"),
        Criterion("straight_back", "Straight back (0.5 point) L", "L", 0.5, "trunk leans forward and rounds"),
        Criterion("back_knee_low", "Back knee is just above the floor (0.5 point) L", "L", 0.5,
                  "shallow lunge, back knee stays high"),
    ),
}
