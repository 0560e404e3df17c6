"""Simulated people: body proportions and appearance, and the articulated skeleton (inverse and
forward kinematics) that places the 33 BlazePose landmarks and the drawing's helper points.

World frame: metres, X = the subject's left, Y = up, Z = the direction the subject faces; the
floor is Y = 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gymdata.skeleton import INDEX

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
# Landmark indices per side (gymdata.skeleton's names; the toe is BlazePose's foot index).
_LM = {
    side: {part: INDEX[f"{side}_{'foot_index' if part == 'toe' else part}"] for part in
           ("shoulder", "elbow", "wrist", "pinky", "index", "thumb", "hip", "knee", "ankle", "heel", "toe")}
    for side in ("left", "right")
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

