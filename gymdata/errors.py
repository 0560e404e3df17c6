"""Typed errors.

Every failure a user can cause (bad input, a missing dataset, a corrupt file) is raised as a
subclass of :class:`GymdataError`. Each carries the offending path (when there is one) and a
hint that says how to fix it; the CLI prints ``str(error)`` as one line and exits non-zero.
"""

from __future__ import annotations

from pathlib import Path


class GymdataError(Exception):
    """Base class of all errors gymdata raises on purpose.

    Args:
        message: What is wrong.
        path: The file or folder concerned, if any.
        hint: How to fix it, if known.
    """

    exit_code = 1

    def __init__(self, message: str, *, path: str | Path | None = None, hint: str | None = None):
        self.message = message
        self.path = Path(path) if path is not None else None
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path is not None else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def __reduce__(self):  # keep path/hint when errors cross process boundaries
        return (_rebuild, (type(self), self.message, self.path, self.hint))


def _rebuild(cls, message, path, hint):
    return cls(message, path=path, hint=hint)


class InputError(GymdataError):
    """A source file or folder is missing, unreadable or not in the expected layout."""

    exit_code = 2


class CorruptMediaError(InputError):
    """A video file or frame folder cannot be decoded."""


class UnknownExerciseError(InputError):
    """An exercise name is not in the vocabulary (see ``gymdata.vocab``)."""


class SchemaError(GymdataError):
    """Data does not match the unified schema."""


class ValidationError(GymdataError):
    """A dataset failed ``gymdata validate``; ``problems`` lists every failed check."""

    def __init__(self, message: str, *, problems: list[str] | None = None, **kwargs):
        self.problems = list(problems or [])
        super().__init__(message, **kwargs)

    def __reduce__(self):
        return (_rebuild_validation, (self.message, self.problems, self.path, self.hint))


def _rebuild_validation(message, problems, path, hint):
    return ValidationError(message, problems=problems, path=path, hint=hint)


class DatasetNotFoundError(GymdataError):
    """No dataset of that name exists in the store."""


class DatasetExistsError(GymdataError):
    """A dataset (or output folder) already exists and overwriting was not asked for."""


class PluginError(GymdataError):
    """An importer, exporter or model plugin is unknown or failed to load."""


class DatasetBusyError(GymdataError):
    """Another process is writing the dataset (holds its lock) and did not finish in time."""
