"""Takes: repetition timing, injected faults and the motion of each exercise, frame by frame."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gymdata.sample.body import (
    _SIDES,
    _X,
    _Y,
    _Arm,
    _fk_free_leg,
    _Foot,
    _ik_leg,
    _Leg,
    _planted_foot,
    _Pose,
    _rot_z,
    _smooth,
    _Subject,
    _two_bone_ik,
    _unit,
)
from gymdata.sample.criteria import CRITERIA

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
