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
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import math
import os
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
import openpyxl

__all__ = ["CRITERIA", "EXERCISES", "Criterion", "generate_sample"]

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

# ALEX-GYM-1 naming, quirks included (the real corpus spells its frame folders inconsistently).
_ALEX = {
    "squat": {"sheet": "squat", "action": "Squat", "frames": "Squat_frames", "cls": 1},
    "deadlift": {"sheet": "deadlift", "action": "Deadlift", "frames": "Deadlift_Frames", "cls": 0},
    "lunge": {"sheet": "lunges", "action": "lunges", "frames": "lunges_Frames", "cls": 2},
}
_ALEX_FRAMES_PER_REP = 16
_ALEX_MAX_REPS = 5
_DETECTOR_FAILURE = {"frontal": 0.03, "lateral": 0.06}
_VIEWS = ("frontal", "lateral")
_JPEG_PARAMS = [cv2.IMWRITE_JPEG_QUALITY, 75, cv2.IMWRITE_JPEG_OPTIMIZE, 1]
# One thread and x264's plain C code: with its SIMD code (asm) the same frames encoded in two
# processes came out with different bytes now and then (3 variants in 6 parallel runs: it reads
# memory whose contents depend on the process's earlier allocations). asm=0 costs ~0.2 ms a frame.
_X264_OPTIONS = {"crf": "26", "preset": "veryfast", "threads": "1", "x264-params": "asm=0"}
# 1980-01-01 is the earliest date a zip entry can hold; any fixed value makes the bytes stable.
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_FIXED_DOC_TIME = datetime.datetime(2024, 1, 1)

_X = np.array([1.0, 0.0, 0.0])
_Y = np.array([0.0, 1.0, 0.0])
_Z = np.array([0.0, 0.0, 1.0])


# --------------------------------------------------------------------------------------------
# Subjects
# --------------------------------------------------------------------------------------------

_SHIRTS = [(40, 40, 200), (200, 90, 30), (40, 150, 40), (30, 140, 230), (150, 50, 150),
           (170, 170, 40), (70, 70, 70), (20, 190, 220)]
_PANTS = [(70, 45, 25), (35, 35, 35), (95, 95, 95), (120, 75, 30), (30, 60, 95)]
_SKINS = [(150, 180, 230), (115, 150, 205), (85, 115, 165), (60, 85, 125), (175, 200, 240)]
_HAIR = [(20, 20, 25), (30, 50, 80), (40, 95, 150), (70, 70, 70)]
_SHOES = [(235, 235, 235), (25, 25, 25), (40, 40, 170), (170, 110, 40)]


@dataclass(frozen=True)
class _Subject:
    """Body proportions (metres), tempo, noise and appearance of one simulated person."""

    id: str
    height: float
    thigh: float
    shin: float
    ankle_h: float
    heel_back: float
    toe_fwd: float
    hip_w: float
    shoulder_w: float
    trunk: float
    neck: float
    head_r: float
    upper_arm: float
    forearm: float
    hand: float
    girth: float
    tempo: float
    noise: float
    jitter: float
    colors: dict[str, tuple[int, int, int]] = field(hash=False)


def _make_subject(seed: int, index: int) -> _Subject:
    rng = np.random.default_rng([seed, 1, index])
    h = float(rng.uniform(1.58, 1.92))
    legs = float(rng.uniform(0.95, 1.05))  # long- vs short-legged builds
    arms = float(rng.uniform(0.95, 1.05))

    def part(ratio: float) -> float:
        return ratio * h * float(1.0 + 0.025 * rng.standard_normal())

    def pick(palette: list[tuple[int, int, int]]) -> tuple[int, int, int]:
        return tuple(int(c) for c in palette[int(rng.integers(len(palette)))])

    return _Subject(
        id=f"s{index + 1:02d}",
        height=h,
        thigh=part(0.245) * legs,
        shin=part(0.246) * legs,
        ankle_h=part(0.039),
        heel_back=part(0.045),
        toe_fwd=part(0.11),
        hip_w=part(0.105) * float(rng.uniform(0.9, 1.12)),
        shoulder_w=part(0.205) * float(rng.uniform(0.9, 1.1)),
        trunk=part(0.30) / legs ** 0.5,
        neck=part(0.065),
        head_r=part(0.062),
        upper_arm=part(0.172) * arms,
        forearm=part(0.146) * arms,
        hand=part(0.06),
        girth=float(rng.uniform(0.85, 1.2)),
        tempo=float(rng.uniform(0.85, 1.2)),
        noise=float(rng.uniform(0.5, 1.0)),
        jitter=float(rng.uniform(0.0015, 0.004)),
        colors={"shirt": pick(_SHIRTS), "pants": pick(_PANTS), "skin": pick(_SKINS),
                "hair": pick(_HAIR), "shoes": pick(_SHOES)},
    )


# --------------------------------------------------------------------------------------------
# Kinematics
# --------------------------------------------------------------------------------------------

def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(math.sqrt(float(v @ v)), 1e-9)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of two 3-vectors (np.cross is slow for single vectors)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _smooth(x: float) -> float:
    """Smoothstep on [0, 1] (zero velocity at both ends, like a human movement)."""
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


def _rot_x(a: float) -> np.ndarray:
    """Rotation about X that tilts +Y towards +Z (a forward pitch)."""
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _rot_z(a: float) -> np.ndarray:
    """Rotation about Z that tilts +Y towards -X (a lean to the subject's right)."""
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _rot_axis(axis: np.ndarray, a: float) -> np.ndarray:
    """Rodrigues rotation matrix about a unit axis."""
    x, y, z = axis
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + math.sin(a) * k + (1.0 - math.cos(a)) * (k @ k)


def _two_bone_ik(root: np.ndarray, target: np.ndarray, a: float, b: float,
                 pole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Places the middle joint of a two-bone chain so that its end reaches the target.

    Args:
        root: Position of the chain's root joint (hip).
        target: Wanted position of the chain's end (ankle).
        a: Length of the first bone.
        b: Length of the second bone.
        pole: Direction the middle joint (knee) should bend towards.

    Returns:
        The middle joint and the reached end (the target, pulled in when out of reach).
    """
    d_vec = target - root
    d = float(np.clip(np.linalg.norm(d_vec), abs(a - b) + 1e-4, (a + b) * 0.9995))
    u = _unit(d_vec)
    cos_alpha = (a * a + d * d - b * b) / (2.0 * a * d)
    alpha = math.acos(min(max(cos_alpha, -1.0), 1.0))
    v = _unit(pole - np.dot(pole, u) * u)
    knee = root + a * (math.cos(alpha) * u + math.sin(alpha) * v)
    return knee, root + d * u


@dataclass
class _Foot:
    """A foot's placement: the ankle of the flat foot, its yaw and how far the heel is lifted."""

    ankle0: np.ndarray  # (x, z) floor position of the ankle when the foot is flat
    yaw: float  # toe-out angle, positive turns the toes away from the body's midline
    lift: float = 0.0  # heel lift, rotating the foot about the toes (radians)
    raise_h: float = 0.0  # whole-foot height above the floor (the lunge's step)


def _foot_frame(side: float, yaw: float, pitch: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fwd = np.array([side * math.sin(yaw), 0.0, math.cos(yaw)])
    lat = np.array([math.cos(yaw), 0.0, -side * math.sin(yaw)])
    rot = _rot_axis(lat, pitch)  # heel up, toes down
    return rot @ fwd, rot @ _Y, lat


def _planted_foot(s: _Subject, side: float, foot: _Foot) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                   np.ndarray, np.ndarray]:
    """Ankle, heel, toe and the foot's forward/up axes of a foot resting on (or above) the floor."""
    flat_fwd, _, _ = _foot_frame(side, foot.yaw, 0.0)
    ankle_flat = np.array([foot.ankle0[0], s.ankle_h + foot.raise_h, foot.ankle0[1]])
    toe_rel_flat = flat_fwd * s.toe_fwd - _Y * (s.ankle_h - 0.01 * s.height)
    toe = ankle_flat + toe_rel_flat
    fwd, up, _ = _foot_frame(side, foot.yaw, foot.lift)
    ankle = toe - (fwd * s.toe_fwd - up * (s.ankle_h - 0.01 * s.height))
    heel = ankle - fwd * s.heel_back - up * (s.ankle_h - 0.018 * s.height)
    return ankle, heel, toe, fwd, up


def _foot_from_axes(s: _Subject, ankle: np.ndarray, fwd: np.ndarray,
                    up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    heel = ankle - fwd * s.heel_back - up * (s.ankle_h - 0.018 * s.height)
    toe = ankle + fwd * s.toe_fwd - up * (s.ankle_h - 0.01 * s.height)
    return heel, toe


@dataclass
class _Leg:
    """Solved leg joints plus the foot's axes (for drawing the shoe)."""

    hip: np.ndarray
    knee: np.ndarray
    ankle: np.ndarray
    heel: np.ndarray
    toe: np.ndarray
    fwd: np.ndarray
    up: np.ndarray


def _ik_leg(s: _Subject, side: float, hip: np.ndarray, foot: _Foot) -> _Leg:
    """Leg with a planted foot, knee bending over the toes (inverse kinematics)."""
    ankle, heel, toe, fwd, up = _planted_foot(s, side, foot)
    # The knee bends at right angles to the hip-ankle line, in the leg's sagittal plane: forward
    # for a leg under the body, down for a leg reaching back (the back leg of a lunge).
    heading = _unit(np.array([fwd[0], 0.0, fwd[2]]))
    line = _unit(ankle - hip)
    along, down = float(line @ heading), float(line[1])
    pole = _unit(-down * heading + along * _Y) if abs(along) + abs(down) > 1e-6 else heading
    knee, reached = _two_bone_ik(hip, ankle, s.thigh, s.shin, pole)
    if np.linalg.norm(reached - ankle) > 1e-6:  # out of reach: the foot follows the leg
        heel, toe = heel + reached - ankle, toe + reached - ankle
    return _Leg(hip, knee, reached, heel, toe, fwd, up)


def _fk_free_leg(s: _Subject, hip: np.ndarray, thigh_angle: float, knee_flex: float) -> _Leg:
    """Leg swinging freely backwards from the hip (forward kinematics)."""
    thigh_dir = np.array([0.0, -math.cos(thigh_angle), -math.sin(thigh_angle)])
    knee = hip + s.thigh * thigh_dir
    posterior = _unit(_cross(_X, thigh_dir))
    shin_dir = math.cos(knee_flex) * thigh_dir + math.sin(knee_flex) * posterior
    ankle = knee + s.shin * shin_dir
    fwd = _unit(_cross(shin_dir, _X))
    fwd = _unit(fwd - 0.25 * (-shin_dir))  # slight plantar flexion, toes towards the floor
    up = _unit(_cross(fwd, _X))
    heel, toe = _foot_from_axes(s, ankle, fwd, up)
    return _Leg(hip, knee, ankle, heel, toe, fwd, up)


@dataclass
class _Arm:
    """Arm pose in the world frame: flexion forward, abduction sideways, elbow bend (radians)."""

    flex: float
    abd: float
    elbow: float


@dataclass
class _Pose:
    """Everything needed to place the 33 landmarks and the drawing's extra points."""

    pelvis: np.ndarray  # midpoint of the hip joints
    hip_roll: float
    trunk_pitch: float
    trunk_roll: float
    rounding: float  # 0 neutral spine .. 1 fully rounded
    head_pitch: float  # world pitch of the head (positive = looking down)
    legs: dict[str, _Leg]
    arms: dict[str, _Arm]


_SIDES = {"left": 1.0, "right": -1.0}
# Landmark indices per side: shoulder, elbow, wrist, pinky, index, thumb, hip, knee, ankle, heel, toe.
_LM = {
    side: {part: 11 + odd + 2 * k for k, part in enumerate(
        ("shoulder", "elbow", "wrist", "pinky", "index", "thumb", "hip", "knee", "ankle", "heel", "toe"))}
    for side, odd in (("left", 0), ("right", 1))
}
# Face landmarks in head units (lateral = subject's left, up, forward), BlazePose order 0..10.
_FACE = np.array([
    [0.0, -0.05, 1.0],  # 0 nose
    [0.13, 0.25, 0.92], [0.30, 0.25, 0.86], [0.45, 0.24, 0.78],  # 1-3 left eye
    [-0.13, 0.25, 0.92], [-0.30, 0.25, 0.86], [-0.45, 0.24, 0.78],  # 4-6 right eye
    [0.93, 0.08, -0.05], [-0.93, 0.08, -0.05],  # 7, 8 ears
    [0.22, -0.40, 0.86], [-0.22, -0.40, 0.86],  # 9, 10 mouth
])
_N_SPINE = 7
_RING = 8
_SPINE_T = np.linspace(0.0, 1.0, _N_SPINE)
_RING_COS = np.cos(2 * np.pi * np.arange(_RING) / _RING)
_RING_SIN = np.sin(2 * np.pi * np.arange(_RING) / _RING)
_I_SPINE = 33
_I_RING = _I_SPINE + _N_SPINE
_I_HEAD = _I_RING + _N_SPINE * _RING  # head centre, hair centre, face centre, neck top
_I_FEET = _I_HEAD + 4  # 8 points per foot, left then right
_I_SHADOW = _I_FEET + 16
_N_POINTS = _I_SHADOW + 4
_SHOE_HALF_WIDTH = np.array([0.032, 0.042, 0.03, 0.03])  # heel, toe, sole under the ankle, instep
_SHADOW = np.array([[0.2, 0.0, 0.0], [-0.2, 0.0, 0.0], [0.0, 0.0, 0.16], [0.0, 0.0, -0.16]])


def _build_points(s: _Subject, pose: _Pose) -> np.ndarray:
    """World positions of the 33 BlazePose landmarks followed by the drawing's helper points."""
    pts = np.zeros((_N_POINTS, 3))
    h = s.height
    hip_axis = np.array([math.cos(pose.hip_roll), math.sin(pose.hip_roll), 0.0])
    for side, sign in _SIDES.items():
        leg, lm = pose.legs[side], _LM[side]
        pts[lm["hip"]] = pose.pelvis + sign * hip_axis * s.hip_w / 2
        pts[lm["knee"]], pts[lm["ankle"]] = leg.knee, leg.ankle
        pts[lm["heel"]], pts[lm["toe"]] = leg.heel, leg.toe

    # Spine: a circular arc whose bend grows with rounding, bulging backwards (kyphosis).
    rot = _rot_z(-pose.trunk_roll) @ _rot_x(pose.trunk_pitch)
    lat, up, fwd = rot[:, 0], rot[:, 1], rot[:, 2]
    bend = max(pose.rounding * math.radians(85.0), 1e-4)
    t = _SPINE_T[:, None]
    along = (np.sin(bend * (t - 0.5)) + math.sin(bend / 2)) / bend
    back = (math.cos(bend / 2) - np.cos(bend * (t - 0.5))) / bend
    spine = pose.pelvis + up * 0.02 * h + s.trunk * (along * up + back * fwd)
    pts[_I_SPINE:_I_SPINE + _N_SPINE] = spine
    # Torso cross-sections (ellipses) perpendicular to the spine, from pelvis to shoulders.
    tangent = bend * (t - 0.5)
    sec_up = np.cos(tangent) * up + np.sin(tangent) * fwd
    sec_fwd = -np.sin(tangent) * up + np.cos(tangent) * fwd
    width = ((s.hip_w + 0.085 * h) * (1 - t) + (s.shoulder_w + 0.01 * h) * t) * (1.0 - 0.12 * np.sin(np.pi * t))
    depth = (0.11 + 0.02 * np.sin(np.pi * t)) * h * s.girth ** 0.5
    centre = spine - sec_up * np.where(t == 0.0, 0.05 * h, 0.0)  # pelvis section reaches below the hips
    ring = (centre[:, None, :] + _RING_COS[None, :, None] * (width / 2)[:, :, None] * lat
            + _RING_SIN[None, :, None] * (depth / 2)[:, :, None] * sec_fwd[:, None, :])
    pts[_I_RING:_I_RING + _N_SPINE * _RING] = ring.reshape(-1, 3)
    neck_base = pts[_I_SPINE + _N_SPINE - 1]
    top_up = math.cos(bend / 2) * up + math.sin(bend / 2) * fwd
    top_fwd = -math.sin(bend / 2) * up + math.cos(bend / 2) * fwd

    # Shoulders protract (move forward and down) as the back rounds.
    protract = pose.rounding * (0.045 * h * top_fwd - 0.02 * h * top_up)
    for side, sign in _SIDES.items():
        pts[_LM[side]["shoulder"]] = (neck_base - top_up * 0.025 * h + sign * lat * s.shoulder_w / 2
                                      + protract - sign * lat * pose.rounding * 0.015 * h)

    # Head: its own world pitch, so "looking forward" stays level while the trunk leans.
    head_rot = _rot_z(-pose.trunk_roll) @ _rot_x(pose.head_pitch)
    h_lat, h_up, h_fwd = head_rot[:, 0], head_rot[:, 1], head_rot[:, 2]
    neck_top = neck_base + top_up * s.neck
    centre = neck_top + h_up * 0.75 * s.head_r + h_fwd * 0.1 * s.head_r
    pts[0:11] = centre + s.head_r * (_FACE[:, :1] * h_lat + _FACE[:, 1:2] * h_up + _FACE[:, 2:] * h_fwd)
    pts[_I_HEAD] = centre
    pts[_I_HEAD + 1] = centre - h_fwd * 0.22 * s.head_r + h_up * 0.18 * s.head_r  # hair
    pts[_I_HEAD + 2] = centre + h_fwd * 0.12 * s.head_r - h_up * 0.05 * s.head_r  # face
    pts[_I_HEAD + 3] = neck_top

    for side, sign in _SIDES.items():
        arm, lm = pose.arms[side], _LM[side]
        ua = np.array([sign * math.sin(arm.abd), -math.cos(arm.abd) * math.cos(arm.flex),
                       math.cos(arm.abd) * math.sin(arm.flex)])
        bend_dir = _unit(_cross(ua, _X))
        fa = math.cos(arm.elbow) * ua + math.sin(arm.elbow) * bend_dir
        thumb_dir = _unit(_cross(fa, _X))
        elbow = pts[lm["shoulder"]] + ua * s.upper_arm
        wrist = elbow + fa * s.forearm
        pts[lm["elbow"]], pts[lm["wrist"]] = elbow, wrist
        pts[lm["pinky"]] = wrist + fa * 0.9 * s.hand - thumb_dir * 0.25 * s.hand
        pts[lm["index"]] = wrist + fa * s.hand + thumb_dir * 0.15 * s.hand
        pts[lm["thumb"]] = wrist + fa * 0.45 * s.hand + thumb_dir * 0.35 * s.hand

    # Shoes: a prism around heel, toe and ankle, wider at the toes.
    for j, side in enumerate(_SIDES):
        leg = pose.legs[side]
        lat_f = _unit(_cross(leg.up, leg.fwd)) * h
        corners = np.stack([leg.heel - leg.up * 0.01 * h, leg.toe - leg.up * 0.005 * h,
                            leg.ankle - leg.up * 0.4 * (s.ankle_h - 0.01 * h), leg.ankle + leg.fwd * 0.03 * h])
        half = _SHOE_HALF_WIDTH[:, None] * lat_f
        pts[_I_FEET + 8 * j:_I_FEET + 8 * j + 8] = np.stack([corners + half, corners - half], axis=1).reshape(8, 3)
    pts[_I_SHADOW:_I_SHADOW + 4] = np.array([pose.pelvis[0], 0.0, pose.pelvis[2]]) + _SHADOW * h
    return pts


# --------------------------------------------------------------------------------------------
# Takes: timing, faults, motion
# --------------------------------------------------------------------------------------------

@dataclass
class _Rep:
    """One repetition: its frames (inclusive), faults, phase timings and per-rep constants."""

    index: int
    start: int
    end: int
    faults: frozenset[str]
    phases: list[tuple[str, float]]  # (phase name, seconds)
    consts: dict[str, float]
    details: dict[str, str] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return sum(d for _, d in self.phases)

    def phase_at(self, t: float) -> tuple[str, float]:
        """Phase name and progress 0..1 within it at time t seconds into the repetition."""
        for name, d in self.phases:
            if t <= d:
                return name, t / d
            t -= d
        return self.phases[-1][0], 1.0


class _Noise:
    """Smooth, deterministic motion noise: a few sinusoids per channel."""

    def __init__(self, rng: np.random.Generator, channels: int, scale: float):
        self.freq = rng.uniform(0.15, 0.9, size=(channels, 3))
        self.phase = rng.uniform(0, 2 * math.pi, size=(channels, 3))
        self.amp = rng.uniform(0.5, 1.0, size=(channels, 3)) * scale / math.sqrt(3)

    def __call__(self, t: float) -> np.ndarray:
        return (self.amp * np.sin(2 * math.pi * self.freq * t + self.phase)).sum(axis=1)


def _rep_phases(ex: str, s: _Subject, faults: frozenset[str], rng: np.random.Generator) -> list[tuple[str, float]]:
    tau = s.tempo * float(1.0 + 0.06 * rng.standard_normal())
    if ex == "squat":
        return [("down", 1.05 * tau), ("hold", 0.15), ("up", 0.9 * tau)]
    if ex == "deadlift":
        up = 0.35 * tau if "slow_reverse" in faults else 1.25 * tau
        return [("down", 1.2 * tau), ("hold", 0.2), ("up", up)]
    fast = "slow_descent" in faults
    return [("step_out", 0.5 * tau), ("down", 0.2 * tau if fast else 0.85 * tau),
            ("hold", 0.45 if fast else 0.2), ("up", 0.7 * tau), ("step_back", 0.5 * tau)]


def _rep_consts(ex: str, s: _Subject, faults: frozenset[str], index: int,
                rng: np.random.Generator) -> tuple[dict[str, float], dict[str, str]]:
    """Per-repetition targets (angles, depths, stance); faults change them far beyond noise."""
    def u(lo: float, hi: float) -> float:
        return float(rng.uniform(lo, hi))

    h = s.height
    details: dict[str, str] = {}
    if ex == "squat":
        c = {
            "turnout": math.radians(u(0, 4) if "feet_out" in faults else u(27, 34)),
            "stance": s.shoulder_w * u(1.0, 1.15),
            "heel_lift": math.radians(u(28, 36)) if "feet_flat" in faults else 0.0,
            "shin": math.radians(u(50, 56)) if "hips_back" in faults else math.radians(u(22, 28)),
            "trunk": math.radians(u(8, 14)) if "hips_back" in faults else math.radians(u(40, 48)),
            "round": u(0.8, 0.95) if "neutral_back" in faults else 0.0,
            "depth": u(0.09, 0.12) * h if "depth" in faults else -u(0.04, 0.06) * h,
            "lag": 1.0 if "simultaneous" in faults else 0.0,
        }
    elif ex == "deadlift":
        if "support_knee" in faults:
            locked = bool(rng.random() < 0.5)
            details["support_knee"] = "locked" if locked else "overbent"
            knee = u(0, 3) if locked else u(45, 55)
        else:
            knee = u(16, 19)
        c = {
            "trunk": math.radians(u(68, 78)),
            "knee": math.radians(knee),
            "free_knee": math.radians(u(55, 65)) if "back_leg" in faults else math.radians(u(0, 4)),
            "round": u(0.8, 0.95) if "straight_back" in faults else 0.0,
            "sway": math.radians(u(7, 9)) if "balance" in faults else 0.0,
            "sway_hz": u(1.2, 1.6),
            "flare": math.radians(u(35, 50)) if "balance" in faults else 0.0,
        }
    else:
        side = 1.0 if index % 2 == 0 else -1.0  # lunges alternate the leading leg
        c = {
            "lead": side,
            "stance": s.shoulder_w * (u(0.3, 0.4) if "heels_width" in faults else u(1.0, 1.1)),
            "online": 1.0 if "feet_parallel" in faults else 0.0,
            "trunk": math.radians(u(30, 38)) if "straight_back" in faults else math.radians(u(2, 6)),
            "round": u(0.55, 0.7) if "straight_back" in faults else 0.0,
            "head_drop": math.radians(u(45, 55)) if "head_forward" in faults else 0.0,
            "swing": math.radians(u(40, 50)) if "no_arm_swing" in faults else 0.0,
            "swing_hz": u(0.9, 1.2),
            "back_knee": u(0.12, 0.145) * h if "back_knee_low" in faults else u(0.04, 0.06) * h,
            "jerk": 1.0 if "slow_descent" in faults else 0.0,
        }
    return c, details


def _arms(flex: float, abd: float, elbow: float, swing: float = 0.0) -> dict[str, _Arm]:
    return {"left": _Arm(flex + swing, abd, elbow), "right": _Arm(flex - swing, abd, elbow)}


class _Motion:
    """Turns a take's plan into a pose per frame for one exercise."""

    def __init__(self, ex: str, s: _Subject, reps: list[_Rep], rng: np.random.Generator, fps: int):
        self.ex, self.s, self.reps, self.fps = ex, s, reps, fps
        self.noise = _Noise(rng, 6, s.noise)
        self.support = 1.0 if rng.random() < 0.5 else -1.0  # deadlift support leg (1 = left)
        if ex == "lunge":
            for rep in reps:
                c = rep.consts
                c["bottom_y"], c["bottom_z"], c["stride"] = self._lunge_bottom(c)

    # -- shared helpers ---------------------------------------------------------------------
    def stance_at(self, frame: int) -> dict[str, float]:
        """Per-rep constants in force at a frame (stance width, toe-out, ...)."""
        prev = None
        for rep in self.reps:
            if frame <= rep.end:
                if frame >= rep.start or prev is None:
                    return rep.consts
                # Between reps the feet slide from one stance to the next, mid-rest.
                u = (frame - prev.end) / max(rep.start - prev.end, 1)
                w = _smooth((u - 0.2) / 0.6)
                return {k: (1 - w) * prev.consts[k] + w * rep.consts[k] for k in rep.consts}
            prev = rep
        return self.reps[-1].consts

    def pose(self, frame: int) -> _Pose:
        """The pose at a frame: rest, or the phase of the repetition it falls in."""
        t = frame / self.fps
        n = self.noise(t)
        rep = next((r for r in self.reps if r.start <= frame <= r.end), None)
        consts = self.stance_at(frame)
        if rep is None:
            phase, u, tr = "rest", 0.0, 0.0
        else:
            tr = (frame - rep.start) / max(rep.end - rep.start, 1) * rep.duration
            phase, u = rep.phase_at(tr)
        builder = {"squat": self._squat, "deadlift": self._deadlift, "lunge": self._lunge}[self.ex]
        return builder(consts, phase, u, tr, n, rep)

    # -- squat ------------------------------------------------------------------------------
    def _squat(self, c: dict, phase: str, u: float, tr: float, n: np.ndarray,
               rep: _Rep | None) -> _Pose:
        s = self.s
        p = {"rest": 0.0, "down": _smooth(u), "hold": 1.0, "up": 1.0 - _smooth(u)}[phase]
        # Knees-first fault: knees lead, hips and trunk follow late (descent only).
        lagging = phase == "down" and c["lag"] > 0.5
        p_knee = _smooth(p / 0.45) if lagging else p
        p_hip = _smooth((p - 0.55) / 0.45) if lagging else p
        legs = {}
        knees = {}
        for side, sign in _SIDES.items():
            foot = _Foot(np.array([sign * c["stance"] / 2, 0.0]), c["turnout"], c["heel_lift"] * p ** 2)
            ankle, heel, toe, fwd, up = _planted_foot(s, sign, foot)
            shin_angle = c["shin"] * p_knee + 0.02 * n[0]
            horiz = np.array([fwd[0], 0.0, fwd[2]])
            knee = ankle + s.shin * (math.cos(shin_angle) * _Y + math.sin(shin_angle) * _unit(horiz))
            knees[side] = knee
            legs[side] = (ankle, heel, toe, fwd, up)
        # The hips sit at a controlled height relative to the knees (the depth criterion), and
        # their forward position follows from the thigh length (closing the kinematic chain).
        hip_x = s.hip_w / 2
        dx = abs(knees["left"][0]) - hip_x
        standing_dy = math.sqrt(max(s.thigh ** 2 - dx ** 2, 0.0))
        dy = standing_dy + (c["depth"] - standing_dy) * p_hip
        knee = knees["left"]
        dz = math.sqrt(max(s.thigh ** 2 - dy ** 2 - dx ** 2, 0.0))
        pelvis = np.array([0.004 * s.height * n[1], knee[1] + dy, knee[2] - dz])
        solved = {}
        for side, sign in _SIDES.items():
            ankle, heel, toe, fwd, up = legs[side]
            hip = pelvis + sign * _X * hip_x
            kn, _ = _two_bone_ik(hip, ankle, s.thigh, s.shin, _unit(knees[side] - (hip + ankle) / 2))
            solved[side] = _Leg(hip, kn, ankle, heel, toe, fwd, up)
        trunk = c["trunk"] * p_hip + 0.03 * n[2]
        rounding = c["round"] * p_hip
        return _Pose(
            pelvis=pelvis, hip_roll=0.0, trunk_pitch=trunk, trunk_roll=0.01 * n[3], rounding=rounding,
            head_pitch=0.4 * trunk + math.radians(45) * rounding + 0.04 * n[4],
            legs=solved, arms=_arms(0.15 + 1.3 * p + 0.05 * n[5], 0.08, 0.12 + 0.4 * rounding),
        )

    # -- single-leg Romanian deadlift -------------------------------------------------------
    def _deadlift(self, c: dict, phase: str, u: float, tr: float, n: np.ndarray,
                  rep: _Rep | None) -> _Pose:
        s, sup = self.s, self.support
        p = {"rest": 0.0, "down": _smooth(u), "hold": 1.0, "up": 1.0 - _smooth(u)}[phase]
        env = math.sin(math.pi * tr / rep.duration) if rep is not None else 0.0
        sway = c["sway"] * env * math.sin(2 * math.pi * c["sway_hz"] * tr)
        knee_flex = math.radians(5) + (c["knee"] - math.radians(5)) * p
        shin_tilt = 0.4 * knee_flex
        ankle0 = np.array([sup * s.hip_w / 2, 0.0])
        ankle, heel, toe, fwd, up = _planted_foot(s, sup, _Foot(ankle0, math.radians(8), 0.0, 0.0))
        knee = ankle + s.shin * np.array([0.0, math.cos(shin_tilt), math.sin(shin_tilt)])
        thigh_tilt = knee_flex - shin_tilt
        hip = knee + s.thigh * np.array([0.0, math.cos(thigh_tilt), -math.sin(thigh_tilt)])
        # Balance fault: the whole support leg wobbles sideways about the ankle.
        wobble = _rot_z(sway)
        knee = ankle + wobble @ (knee - ankle)
        hip = ankle + wobble @ (hip - ankle)
        hip_roll = 0.8 * sway
        hip_axis = np.array([math.cos(hip_roll), math.sin(hip_roll), 0.0])
        pelvis = hip - sup * hip_axis * s.hip_w / 2
        trunk = c["trunk"] * p + 0.03 * n[0]
        free_side = "right" if sup > 0 else "left"
        sup_side = "left" if sup > 0 else "right"
        free_hip = pelvis - sup * hip_axis * s.hip_w / 2
        legs = {
            sup_side: _Leg(hip, knee, ankle, heel, toe, fwd, up),
            free_side: _fk_free_leg(s, free_hip, 0.97 * trunk, math.radians(3) + c["free_knee"] * p),
        }
        rounding = c["round"] * p
        bend = rounding * math.radians(85)
        flare = c["flare"] * env * (0.7 + 0.3 * math.sin(2 * math.pi * 1.7 * tr))
        return _Pose(
            pelvis=pelvis, hip_roll=hip_roll, trunk_pitch=trunk + 0.15 * bend, trunk_roll=-1.2 * sway,
            rounding=rounding, head_pitch=trunk + bend / 2 - 0.15 + math.radians(30) * rounding + 0.04 * n[4],
            legs=legs, arms=_arms(0.05 * n[5], 0.06 + flare, 0.08 + 0.25 * rounding),
        )

    # -- lunge ------------------------------------------------------------------------------
    def _lunge_feet(self, c: dict, phase: str, u: float) -> tuple[dict[str, _Foot], float]:
        """Feet and the step progress (0 standing .. 1 feet split) of a forward lunge."""
        lead = "left" if c["lead"] > 0 else "right"
        back = "right" if lead == "left" else "left"
        sign_lead = _SIDES[lead]
        x_lead0, x_back = sign_lead * c["stance"] / 2, -sign_lead * c["stance"] / 2
        step = {"rest": 0.0, "step_out": _smooth(u), "step_back": 1.0 - _smooth(u)}.get(phase, 1.0)
        # The "one line" fault puts the front foot straight in front of the back foot.
        x_target = x_lead0 + (x_back + sign_lead * 0.01 * self.s.height - x_lead0) * c["online"]
        hump = 0.07 * self.s.height * math.sin(math.pi * u) if phase in ("step_out", "step_back") else 0.0
        feet = {
            lead: _Foot(np.array([x_lead0 + (x_target - x_lead0) * step, c["stride"] * step]),
                        math.radians(6), 0.0, hump),
            back: _Foot(np.array([x_back, 0.0]), math.radians(6)),
        }
        return feet, step

    def _lunge_legs(self, pelvis: np.ndarray, feet: dict[str, _Foot]) -> dict[str, _Leg]:
        return {side: _ik_leg(self.s, sign, pelvis + sign * _X * self.s.hip_w / 2, feet[side])
                for side, sign in _SIDES.items()}

    def _lunge_top_y(self, pelvis_xz: np.ndarray, feet: dict[str, _Foot]) -> float:
        """Highest pelvis the legs can reach with both feet where they are (nearly straight legs)."""
        s = self.s
        best = s.ankle_h + s.thigh + s.shin
        for side, sign in _SIDES.items():
            ankle = _planted_foot(s, sign, feet[side])[0]
            dx = pelvis_xz[0] + sign * s.hip_w / 2 - ankle[0]
            dz = pelvis_xz[1] - ankle[2]
            reach = 0.995 * (s.thigh + s.shin)
            best = min(best, ankle[1] + math.sqrt(max(reach ** 2 - dx ** 2 - dz ** 2, 0.0)))
        return best

    def _lunge_bottom(self, c: dict) -> tuple[float, float, float]:
        """Pelvis height and depth at the bottom, and the stride, built up from the back foot.

        The back knee is put at its target height on the circle of shin length around the back
        ankle (heel lifted) with the back thigh almost vertical on it; the front foot lands one
        thigh length ahead of the hips, so the front thigh is level at the bottom. The pelvis
        height is then refined with the real leg solver (near this pose the back knee rises
        monotonically with the pelvis).
        """
        s = self.s
        back_side = "right" if c["lead"] > 0 else "left"
        ankle = _planted_foot(s, _SIDES[back_side], _Foot(np.array([0.0, 0.0]), math.radians(6),
                                                          _LUNGE_BACK_LIFT))[0]
        dy = ankle[1] - c["back_knee"]
        knee_z = ankle[2] + math.sqrt(max(s.shin ** 2 - dy ** 2, 0.0))
        tilt = math.radians(8)
        guess_y = c["back_knee"] + s.thigh * math.cos(tilt)
        pelvis_z = knee_z + s.thigh * math.sin(tilt)
        c["stride"] = pelvis_z + 0.97 * s.thigh
        feet, _ = self._lunge_feet(c, "hold", 0.0)
        feet[back_side].lift = _LUNGE_BACK_LIFT
        lo, hi = guess_y - 0.08 * s.height, guess_y + 0.02 * s.height
        for _ in range(30):
            mid = (lo + hi) / 2
            knee = self._lunge_legs(np.array([0.0, mid, pelvis_z]), feet)[back_side].knee
            lo, hi = (lo, mid) if knee[1] > c["back_knee"] else (mid, hi)
        return (lo + hi) / 2, pelvis_z, c["stride"]

    def _lunge(self, c: dict, phase: str, u: float, tr: float, n: np.ndarray,
               rep: _Rep | None) -> _Pose:
        s = self.s
        feet, step = self._lunge_feet(c, phase, u)
        if phase == "down" and c["jerk"] > 0.5:
            p = 1.0 - (1.0 - u) ** 3  # fast start, abrupt stop
        else:
            p = {"down": _smooth(u), "hold": 1.0, "up": 1.0 - _smooth(u)}.get(phase, 0.0)
        if phase == "hold" and c["jerk"] > 0.5:
            p = 1.0 - 0.25 * math.exp(-4 * u) * abs(math.sin(3 * math.pi * u))  # bounce at the bottom
        back = "right" if c["lead"] > 0 else "left"
        feet[back].lift = 0.35 * _LUNGE_BACK_LIFT * step + 0.65 * _LUNGE_BACK_LIFT * p
        xz = np.array([0.004 * s.height * n[1], c["bottom_z"] * step])
        top = self._lunge_top_y(xz, feet)
        y = (1 - p) * top + p * min(c["bottom_y"], top)
        pelvis = np.array([xz[0], y, xz[1]])
        legs = self._lunge_legs(pelvis, feet)
        env = math.sin(math.pi * tr / rep.duration) if rep is not None else 0.0
        head_env = _smooth(tr / 0.4) * _smooth((rep.duration - tr) / 0.4) if rep is not None else 0.0
        trunk = math.radians(3) + (c["trunk"] - math.radians(3)) * p + 0.02 * n[2]
        rounding = c["round"] * p
        swing = c["swing"] * env * math.sin(2 * math.pi * c["swing_hz"] * tr)
        return _Pose(
            pelvis=pelvis, hip_roll=0.0, trunk_pitch=trunk, trunk_roll=0.01 * n[3], rounding=rounding,
            head_pitch=0.05 + c["head_drop"] * head_env + 0.04 * n[4],
            legs=legs, arms=_arms(0.05 + 0.04 * n[5], 0.12, 0.2, swing),
        )


_LUNGE_BACK_LIFT = math.radians(55)  # the back foot rolls onto its toes at the bottom


def _plan_take(ex: str, s: _Subject, n_reps: int, fps: int, fault_rate: float,
               rng: np.random.Generator) -> tuple[list[_Rep], int]:
    """Draws faults and timings for every repetition and lays them out between rests."""
    reps: list[_Rep] = []
    frame = round(rng.uniform(0.6, 0.9) * fps)
    for i in range(n_reps):
        faults = frozenset(c.key for c in CRITERIA[ex] if rng.random() < fault_rate)
        phases = _rep_phases(ex, s, faults, rng)
        consts, details = _rep_consts(ex, s, faults, i, rng)
        n = max(round(sum(d for _, d in phases) * fps), 2)
        reps.append(_Rep(i, frame, frame + n - 1, faults, phases, consts, details))
        rest = rng.uniform(0.45, 0.8) if i < n_reps - 1 else rng.uniform(0.5, 0.8)
        frame += n + max(round(rest * fps), 2)
    return reps, frame


# --------------------------------------------------------------------------------------------
# Cameras and drawing
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Camera:
    """A pinhole camera with no roll, looking horizontally."""

    pos: np.ndarray
    right: np.ndarray
    down: np.ndarray
    fwd: np.ndarray
    f: float
    size: int

    def to_cam(self, pts: np.ndarray) -> np.ndarray:
        rel = pts - self.pos
        return np.stack([rel @ self.right, rel @ self.down, rel @ self.fwd], axis=-1)

    def project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (N, 2) and depths (N,) of world points."""
        c = self.to_cam(pts)
        return self.size / 2 + self.f * c[:, :2] / c[:, 2:3], c[:, 2]


_CAM_DISTANCE = 4.0
_CAM_HEIGHT = 0.95
_HALF_VIEW = 1.15  # metres visible above and below the optical axis at the subject
_WALL_BEHIND = 2.0
_LATERAL_CENTRE = {"squat": -0.05, "deadlift": 0.0, "lunge": 0.35}
_FRONTAL_BACKOFF = {"squat": 0.0, "deadlift": 0.0, "lunge": 0.7}  # the lunge steps towards the camera


def _cameras(ex: str, size: int) -> dict[str, _Camera]:
    f = size / 2 * _CAM_DISTANCE / _HALF_VIEW
    zc = _LATERAL_CENTRE[ex]
    return {
        "frontal": _Camera(np.array([0.0, _CAM_HEIGHT, _CAM_DISTANCE + _FRONTAL_BACKOFF[ex]]), _X, -_Y, -_Z, f, size),
        "lateral": _Camera(np.array([_CAM_DISTANCE, _CAM_HEIGHT, zc]), -_Z, -_Y, -_X, f, size),
    }


def _background(cam: _Camera, rng: np.random.Generator) -> np.ndarray:
    """Plain wall and floor; their meeting line is where the floor reaches the wall."""
    wall = np.array([205, 212, 216]) + rng.integers(-20, 12, size=3)
    floor = np.array([120, 140, 155]) + rng.integers(-25, 20, size=3)
    img = np.empty((cam.size, cam.size, 3), np.uint8)
    wall_depth = float(-cam.pos @ cam.fwd) + _WALL_BEHIND
    horizon = round(cam.size / 2 + cam.f * _CAM_HEIGHT / wall_depth)
    img[:horizon] = wall.clip(0, 255)
    img[horizon:] = floor.clip(0, 255)
    img[horizon:horizon + 1] = (floor * 0.8).clip(0, 255)
    return img


def _tint(color: tuple[int, int, int], side: str) -> tuple[int, int, int]:
    """Left limbs lighter, right limbs darker, so the two sides never look alike."""
    c = np.array(color, float)
    c = c + (255 - c) * 0.4 if side == "left" else c * 0.6
    return tuple(int(v) for v in c.clip(0, 255))


_SHIFT = 4  # sub-pixel drawing precision (coordinates in 1/16 px)
_ONE = 1 << _SHIFT


@dataclass(frozen=True)
class _Palette:
    """A subject's drawing colours, left/right tints resolved once."""

    shirt: tuple[int, int, int]
    pants: tuple[int, int, int]
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    nose: tuple[int, int, int]
    back_line: tuple[int, int, int]
    sides: dict[str, dict[str, tuple[int, int, int]]]

    @classmethod
    def of(cls, s: _Subject) -> _Palette:
        c = s.colors
        def dark(col: tuple[int, int, int], k: float) -> tuple[int, int, int]:
            return tuple(int(v * k) for v in col)

        return cls(c["shirt"], c["pants"], c["skin"], c["hair"], dark(c["skin"], 0.75), dark(c["shirt"], 0.55),
                   {side: {k: _tint(c[k], side) for k in ("shirt", "pants", "shoes")} for side in _SIDES})


_HANDS = {side: np.array([lm["wrist"], lm["pinky"], lm["index"], lm["thumb"]]) for side, lm in _LM.items()}
_FEET = {side: _I_FEET + 8 * k + np.arange(8) for k, side in enumerate(_SIDES)}
_BACK_LINE = _I_RING + np.arange(1, _N_SPINE) * _RING + 6  # ring point 6 faces backwards
_TORSO = [_I_RING + np.arange(i * _RING, (i + 2) * _RING) for i in range(_N_SPINE - 1)]


def _render(s: _Subject, pal: _Palette, pts: np.ndarray, cam: _Camera, bg: np.ndarray,
            uv: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Draws the figure with the painter's algorithm (far primitives first).

    Args:
        s: The subject (sizes).
        pal: The subject's colours.
        pts: World points from `_build_points`.
        cam: The camera.
        bg: The empty scene, copied.
        uv: Pixel coordinates of ``pts`` (from ``cam.project``).
        depth: Camera depths of ``pts``.

    Returns:
        The BGR image.
    """
    uvi = np.round(uv * _ONE).astype(np.int32)
    fix = [tuple(p) for p in uvi.tolist()]
    dl = depth.tolist()
    px_per_m = (cam.f / depth).tolist()  # pixels per metre at each point's depth
    img = bg.copy()
    h = s.height
    aa = cv2.LINE_AA

    sh = uv[_I_SHADOW:_I_SHADOW + 4]
    axes = (int(max(abs(sh[0, 0] - sh[1, 0]), abs(sh[2, 0] - sh[3, 0])) / 2 * _ONE),
            int(max(abs(sh[0, 1] - sh[1, 1]), abs(sh[2, 1] - sh[3, 1]), 2.0) / 2 * _ONE))
    shadow = tuple(int(v * 0.8) for v in bg[-1, 0])
    cv2.ellipse(img, tuple(int(v) for v in np.round(sh.mean(axis=0) * _ONE)), axes, 0, 0, 360, shadow, -1, aa,
                _SHIFT)

    prims: list[tuple[float, int, Callable[[], None]]] = []

    def capsule(i: int, j: int, radius: float, color: tuple[int, int, int]) -> None:
        # OpenCV draws thick lines with round caps: a line is a capsule.
        t = max(round(radius * (px_per_m[i] + px_per_m[j])), 1)
        prims.append(((dl[i] + dl[j]) / 2, len(prims), lambda: cv2.line(img, fix[i], fix[j], color, t, aa, _SHIFT)))

    def hull(idx: np.ndarray, color: tuple[int, int, int], d: float) -> None:
        poly = cv2.convexHull(uvi[idx])
        prims.append((d, len(prims), lambda: cv2.fillConvexPoly(img, poly, color, aa, _SHIFT)))

    for side in _SIDES:
        lm, tint = _LM[side], pal.sides[side]
        capsule(lm["hip"], lm["knee"], 0.043 * h * s.girth, tint["pants"])
        capsule(lm["knee"], lm["ankle"], 0.031 * h * s.girth, tint["pants"])
        capsule(lm["shoulder"], lm["elbow"], 0.027 * h * s.girth, tint["shirt"])
        capsule(lm["elbow"], lm["wrist"], 0.021 * h * s.girth, tint["shirt"])
        hull(_HANDS[side], pal.skin, dl[lm["wrist"]])
        hull(_FEET[side], tint["shoes"], dl[lm["ankle"]])
    ring_depth = depth[_I_RING:_I_RING + _N_SPINE * _RING].reshape(_N_SPINE, _RING).mean(axis=1).tolist()
    for i, idx in enumerate(_TORSO):
        hull(idx, pal.pants if i == 0 else pal.shirt, (ring_depth[i] + ring_depth[i + 1]) / 2)
    # The back's outline makes the spine's curve legible whenever the back is in view.
    mid = _I_RING + (_N_SPINE // 2) * _RING
    back_normal = _unit(pts[mid + 6] - pts[_I_SPINE + _N_SPINE // 2])
    if np.dot(back_normal, _unit(cam.pos - pts[mid + 6])) > -0.3:
        line = uvi[_BACK_LINE]
        back_depth = float(depth[_BACK_LINE].mean())
        width = max(round(0.008 * h * cam.f / back_depth), 1)
        prims.append((back_depth - 0.01, len(prims),
                      lambda: cv2.polylines(img, [line], False, pal.back_line, width, aa, _SHIFT)))
    capsule(_I_SPINE + _N_SPINE - 1, _I_HEAD + 3, 0.03 * h, pal.skin)

    head, hair, face = _I_HEAD, _I_HEAD + 1, _I_HEAD + 2
    to_cam = _unit(cam.pos - pts[head])

    def draw_head() -> None:
        r = s.head_r * px_per_m[head]
        # Hair and face are two offset discs: whichever is nearer the camera is painted last.
        discs = [(dl[hair], fix[hair], 0.97, pal.hair), (dl[face] + 1e-6, fix[face], 0.9, pal.skin)]
        for _, centre, k, color in sorted(discs, key=lambda q: -q[0]):
            cv2.circle(img, centre, int(r * k * _ONE), color, -1, aa, _SHIFT)
        for eye in (2, 5):  # only the eyes turned towards the camera
            if np.dot(pts[eye] - pts[head], to_cam) > 0.25 * s.head_r:
                cv2.circle(img, fix[eye], int(max(r * 0.12, 0.6) * _ONE), (30, 30, 40), -1, aa, _SHIFT)
        if np.dot(pts[0] - pts[head], to_cam) > 0:
            cv2.circle(img, fix[0], int(max(r * 0.14, 0.6) * _ONE), pal.nose, -1, aa, _SHIFT)
            cv2.line(img, fix[9], fix[10], (60, 60, 150), max(int(r * 0.08), 1), aa, _SHIFT)
    prims.append((float(depth[head]), len(prims), draw_head))

    for _, _, draw in sorted(prims, key=lambda q: (-q[0], q[1])):
        draw()
    return img


# --------------------------------------------------------------------------------------------
# Landmarks as a detector would report them
# --------------------------------------------------------------------------------------------

def _visibility(view: str) -> np.ndarray:
    """Per-landmark visibility: the side turned away from the lateral camera is mostly hidden."""
    vis = np.full(33, 0.98)
    if view == "lateral":
        far = [4, 5, 6, 8, 10] + list(range(12, 33, 2))
        vis[far] = 0.45
    return vis


def _landmarks(uv: np.ndarray, depth: np.ndarray, cam: _Camera) -> np.ndarray:
    """(33, 3) image-normalised x, y and MediaPipe-like z (hip-centred depth, x's scale)."""
    hip_depth = float(depth[23] + depth[24]) / 2
    z = (depth[:33] - hip_depth) * cam.f / hip_depth
    return np.concatenate([uv[:33], z[:, None]], axis=1) / cam.size


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------

class _VideoWriter:
    """Deterministic H.264 (libx264, one thread, yuv420p) MP4 writer."""

    def __init__(self, path: Path, fps: int, size: int):
        self.container = av.open(str(path), mode="w", options={"fflags": "+bitexact"})
        self.stream = self.container.add_stream("libx264", rate=fps, options=dict(_X264_OPTIONS))
        self.stream.width = self.stream.height = size
        self.stream.pix_fmt = "yuv420p"
        self.stream.codec_context.thread_count = 1

    def write(self, bgr: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420), format="yuv420p")
        self.container.mux(self.stream.encode(frame))

    def close(self) -> None:
        self.container.mux(self.stream.encode(None))
        self.container.close()


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def _alex_columns(ex: str) -> list[str]:
    """The ALEX-GYM-1 sheet header of an exercise, in the corpus's order."""
    crit = CRITERIA[ex]
    front = [c for c in crit if c.view == "F"]
    lat = [c for c in crit if c.view == "L"]
    pf, pl = sum(c.points for c in front), sum(c.points for c in lat)
    return (["Num Video Frontal", "Num Video Lateral", "NumIdx", "Action"]
            + [c.name for c in front] + [f"Score: Frontal( - / {pf:g})"]
            + [c.name for c in lat] + [f"Score: Lateral ( - / {pl:g})", f"Total Score - /{pf + pl:g}",
                                       "class", "rating"])


def _write_xlsx(path: Path, columns: list[str], rows: list[list]) -> None:
    """Writes one sheet, then rewrites the zip so the bytes depend on the content only."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(columns)
    for row in rows:
        ws.append(row)
    wb.properties.creator = "gymdata"
    wb.properties.created = wb.properties.modified = _FIXED_DOC_TIME
    raw = io.BytesIO()
    wb.save(raw)
    # openpyxl stamps docProps/core.xml with the save time and each zip entry with "now".
    stamp = _FIXED_DOC_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME), data,
                         compress_type=zipfile.ZIP_DEFLATED)


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
    if not 1 <= lo <= hi <= _ALEX_MAX_REPS:
        raise ValueError(f"reps must satisfy 1 <= min <= max <= {_ALEX_MAX_REPS} "
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
        frames_dir = alex / _ALEX[ex]["frames"]
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
                n_jpegs += len(take["reps"]) * 2 * _ALEX_FRAMES_PER_REP
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
        name = _ALEX[ex]["sheet"]
        _write_xlsx(alex / f"{name}.xlsx", _alex_columns(ex), sheet_rows)
        _write_json(alex / f"front_pose_{name}.json", pose_json["frontal"])
        _write_json(alex / f"lat_pose_{name}.json", pose_json["lateral"])

    _write_csv(alex / "subjects.csv", ["Num Video Frontal", "Num Video Lateral", "subject"], alex_subjects)
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
    return ([nums["frontal"], nums["lateral"], rep["index"], _ALEX[ex]["action"]]
            + [_number(pts[c.name]) for c in front] + [_number(pf)]
            + [_number(pts[c.name]) for c in lat] + [_number(pl), _number(pf + pl), _ALEX[ex]["cls"],
                                                     round(rep["score"])])


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
    sample_at = {r.index: np.linspace(r.start, r.end, _ALEX_FRAMES_PER_REP).round().astype(int) for r in reps}
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
                    (frames_dir / f"{nums[v]}_idx_{rep_i}_{i}.jpg").write_bytes(jpg.tobytes())
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
            failed = rng.random(_ALEX_FRAMES_PER_REP) < _DETECTOR_FAILURE[v]
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
