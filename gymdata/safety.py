"""Guards against hostile or careless input: paths that leave their root, names that are paths,
leftovers of killed runs, and OS errors turned into one line that names the file and the fix.
(Output folders that would destroy the store or the sources are refused by :mod:`gymdata.guard`,
which knows the store; this module is below the store and knows no dataset.)

What gymdata trusts and what it checks is summed up in the README's "Safety" section.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath

from gymdata.errors import DatasetExistsError, GymdataError, InputError

#: Hidden work folders of an atomic write: ``.NAME.tmp-<suffix>`` and ``.NAME.old-<suffix>``.
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old)-[A-Za-z0-9_]+$")
#: A leftover younger than this may belong to a run still going on (a concurrent export).
LEFTOVER_AGE_S = 60.0


def inside(root: str | Path, rel: str, *, where: str | Path | None = None) -> Path:
    """``root / rel`` if ``rel`` is a relative path that stays inside ``root``.

    The check is on the text (``..`` and absolute paths), so it holds whatever exists on disk;
    symbolic links inside the root are the root owner's choice and are followed.

    Args:
        root: The folder the path must stay in.
        rel: The path as read from a CSV, sidecar or annotation file.
        where: The file (and line) it was read from, for the error.

    Raises:
        InputError: If ``rel`` is empty, absolute (also Windows-style) or climbs out of ``root``.
    """
    text = str(rel).replace("\\", "/")
    if not text.strip():
        raise InputError("empty path", path=where, hint="give the file's path relative to the root")
    if "\0" in text:
        raise InputError(f"path {rel!r} holds a NUL byte", path=where, hint="fix the path in the file")
    if PurePosixPath(text).is_absolute() or PureWindowsPath(str(rel)).drive:
        raise InputError(f"path {rel!r} is absolute; only paths relative to {root} are accepted", path=where,
                         hint="write it relative to the root folder")
    parts = PurePosixPath(text).parts
    depth = 0
    for part in parts:
        depth += -1 if part == ".." else 0 if part in (".", "") else 1
        if depth < 0:
            raise InputError(f"path {rel!r} points outside {root}", path=where,
                             hint="only files inside the root folder are imported; move the file in or fix the path")
    return Path(root) / os.path.normpath(text)


def check_plain_name(name: str, *, what: str = "name") -> str:
    """``name`` if it is a plain folder name (no separator, not ``.``/``..``, not hidden, no NUL).

    Raises:
        InputError: Otherwise.
    """
    if (not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name or name.startswith(".")
            or len(name.encode("utf-8", "surrogateescape")) > 200):
        raise InputError(f"{what} {name!r} is not a plain name",
                         hint="use letters, digits, '-', '_' and '.', no '/' and not starting with '.'")
    return name


def clean_leftovers(parent: str | Path, name: str | None = None, *, min_age_s: float = LEFTOVER_AGE_S) -> list[Path]:
    """Remove hidden ``.NAME.tmp-*`` / ``.NAME.old-*`` folders or files that a killed run left in ``parent``.

    Only entries older than ``min_age_s`` go, so that a concurrent run's work folder is kept.

    Args:
        parent: The folder that holds the outputs.
        name: Only leftovers of this output name (default: all).
        min_age_s: Minimum age in seconds (modification time).

    Returns:
        What was removed.
    """
    parent = Path(parent)
    removed = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    now = time.time()
    for p in entries:
        m = _LEFTOVER.match(p.name)
        if not m or (name is not None and m.group("name") != name):
            continue
        try:
            if now - p.lstat().st_mtime < min_age_s:
                continue
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            removed.append(p)
        except OSError:
            continue
    return removed


_FIXES = {
    errno.ENOSPC: ("no space left on the device", "free some space or write elsewhere, then run the command again"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or write elsewhere, then run the command again"),
    errno.EROFS: ("read-only file system", "write to a writable folder, or set GYMDATA_HOME to one"),
    errno.EACCES: ("permission denied", "check the permissions (chmod/chown) or use another folder"),
    errno.EPERM: ("operation not permitted", "check the permissions (chmod/chown) or use another folder"),
    errno.ENAMETOOLONG: ("file name too long", "use a shorter name or a shorter folder path"),
    errno.ENOENT: ("no such file or folder", "check the path"),
    errno.ENOTDIR: ("a part of the path is not a folder", "check the path"),
    errno.EISDIR: ("is a folder, not a file", "check the path"),
    errno.EEXIST: ("already exists", "remove it or choose another name"),
    errno.ENOTEMPTY: ("folder is not empty", "remove it or choose another name"),
    errno.EIO: ("input/output error", "the disk or network share may be failing; check it and run again"),
    errno.EMFILE: ("too many open files", "raise the limit (ulimit -n) or use fewer workers (-j)"),
    errno.ENOMEM: ("out of memory", "use fewer workers (-j) or a smaller batch"),
}


def describe_os_error(exc: BaseException) -> GymdataError:
    """A one-line :class:`~gymdata.errors.InputError` for an ``OSError`` or a bad file name encoding,
    naming the file and the fix."""
    if isinstance(exc, UnicodeError):
        where = None
        if isinstance(exc, UnicodeEncodeError) and isinstance(exc.object, str):  # a name read with surrogateescape
            where = printable(exc.object)[:300]
        return InputError(f"a file name or text is not valid UTF-8 ({exc.reason})", path=where,
                          hint="rename the file with UTF-8 characters, or save the text as UTF-8")
    if not isinstance(exc, OSError):
        return InputError(str(exc) or type(exc).__name__)
    code = exc.errno
    if code is None:  # pyarrow and others put the errno in the text only
        m = re.search(r"\[errno (\d+)\]", str(exc), re.I)
        code = int(m.group(1)) if m else None
        if code is not None and exc.filename is None:
            m = re.search(r"'(/[^']+)'", str(exc))
            exc.filename = m.group(1) if m else None
    what, fix = _FIXES.get(code, (exc.strerror or str(exc) or type(exc).__name__, "check the file and run again"))
    name = exc.filename
    if exc.filename2:
        name = f"{exc.filename} -> {exc.filename2}"
    if name is None and code is None:  # e.g. zipfile/pyarrow errors that subclass OSError without errno
        return InputError(str(exc) or type(exc).__name__, hint="the file may be damaged; recreate it")
    if isinstance(exc, FileExistsError):
        return DatasetExistsError(what, path=name, hint=fix)
    return InputError(what, path=name, hint=fix)


def reserve(path: str | Path) -> None:
    """Allocate a sparse file's blocks now, so that a full disk raises ``OSError(ENOSPC)`` here
    rather than killing a process that writes through a memory map (SIGBUS).

    Raises:
        OSError: ENOSPC (or EDQUOT) with the file name, when the space is not there.
    """
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, os.fstat(fd).st_size)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL):  # file systems without fallocate: best effort
            return
        raise OSError(exc.errno, os.strerror(exc.errno), str(path)) from None
    finally:
        os.close(fd)


@contextlib.contextmanager
def naming(path: str | Path, work: str | Path | None = None) -> Iterator[None]:
    """Add ``path`` to an ``OSError`` raised without a file name (a ``write`` that hits a full disk,
    pyarrow's I/O errors), so that the one-line error says which file it was.

    Args:
        path: The file or output folder to name.
        work: The hidden work folder that becomes ``path`` on success: a file name inside it is
            shown at its final place (the work folder is gone when the user reads the error).
    """
    try:
        yield
    except OSError as exc:
        if exc.filename is not None:
            if work is not None and str(exc.filename).startswith(str(work)):
                raise type(exc)(exc.errno, exc.strerror, str(path) + str(exc.filename)[len(str(work)):]) from exc
            raise
        code = exc.errno
        if code is None:
            m = re.search(r"\[errno (\d+)\]", str(exc), re.I)
            code = int(m.group(1)) if m else None
        if code is None:
            raise
        raise OSError(code, os.strerror(code), str(path)) from exc


def printable(text: str) -> str:
    """``text`` with undecodable bytes of a file name (surrogate escapes) shown as ``\\xNN``."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
