"""The exercise vocabulary: our normalised names and the corpora's spellings of them.

Corpora name exercises in many ways (``Squat``, ``squats``, ``BodyWeightSquats``, ``PushUps``,
``dumbbell_curl``, ...). Importers keep the corpus's name in ``exercise_raw`` and store the
normalised name from :func:`normalise` in ``exercise``.
"""

from __future__ import annotations

import re

from gymdata.errors import UnknownExerciseError

#: Normalised exercise names, with a short description.
EXERCISES: dict[str, str] = {
    "squat": "squat (body weight or loaded)",
    "deadlift": "deadlift, including the single-leg Romanian deadlift",
    "lunge": "forward, reverse or walking lunge",
    "pushup": "push-up, including wall and handstand push-ups",
    "pullup": "pull-up or chin-up",
    "plank": "plank hold",
    "burpee": "burpee",
    "jumping_jack": "jumping jack",
    "mountain_climber": "mountain climber",
    "situp": "sit-up or crunch",
    "bench_press": "bench press",
    "curl": "biceps curl",
    "overhead_press": "overhead or shoulder press",
    "front_raise": "front raise (dumbbell, plate or cable)",
    "rope_pushdown": "triceps rope pushdown",
    "clean_and_jerk": "clean and jerk",
    "jump_rope": "jump rope",
    "rope_climbing": "rope climbing",
    "rowing": "rowing",
    "hula_hoop": "hula hoop",
    "trampoline_jumping": "trampoline jumping",
    "other": "an exercise outside the vocabulary, kept on purpose",
}

# Aliases, compared after lower-casing and removing everything but letters and digits.
_ALIASES: dict[str, str] = {
    "squats": "squat", "bodyweightsquats": "squat", "bodyweightsquat": "squat", "airsquat": "squat",
    "deadlifts": "deadlift", "romaniandeadlift": "deadlift", "rdl": "deadlift", "singlelegdeadlift": "deadlift",
    "lunges": "lunge",
    "pushups": "pushup", "pushup": "pushup", "wallpushups": "pushup", "handstandpushups": "pushup",
    "pullups": "pullup", "chinups": "pullup",
    "burpees": "burpee",
    "jumpingjack": "jumping_jack", "jumpingjacks": "jumping_jack", "jacks": "jumping_jack",
    "mountainclimber": "mountain_climber", "mountainclimbers": "mountain_climber",
    "situps": "situp", "crunches": "situp",
    "benchpress": "bench_press", "benchpressing": "bench_press",
    "frontraises": "front_raise", "triceppushdown": "rope_pushdown", "tricepspushdown": "rope_pushdown",
    "curls": "curl", "bicepcurl": "curl", "bicepscurl": "curl", "dumbbellcurl": "curl",
    "overheadpress": "overhead_press", "shoulderpress": "overhead_press",
    "cleanandjerk": "clean_and_jerk",
    "jumprope": "jump_rope", "ropeclimbing": "rope_climbing", "hulahoop": "hula_hoop",
    "trampolinejumping": "trampoline_jumping",
}
_CANON = {re.sub(r"[^a-z0-9]", "", k): k for k in EXERCISES}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def lookup(name: str) -> str | None:
    """The normalised exercise for ``name``, or None if it is not known."""
    key = _key(name)
    return _CANON.get(key) or _ALIASES.get(key)


def normalise(name: str, *, where: str | None = None) -> str:
    """The normalised exercise for ``name``.

    Args:
        name: A corpus's exercise or class name.
        where: The file the name was read from, for the error message.

    Raises:
        UnknownExerciseError: If the name is not in the vocabulary.
    """
    found = lookup(name)
    if found is None:
        raise UnknownExerciseError(
            f"unknown exercise {name!r}",
            path=where,
            hint=f"use one of: {', '.join(EXERCISES)} (or 'other')",
        )
    return found
