"""A content-addressed cache of per-clip results (used by pose extraction).

A result is keyed by what went into it, not by where the clip lives: the hash of the clip's bytes
(a video file, or the concatenated images of a frame clip) combined with the model and its
parameters (:func:`result_key`). A rerun, or the same clip under another name or path, finds its
result and costs nothing.

Layout of a cache folder::

    <root>/memo.tsv               # file signature -> content hash, one line per clip (append-only)
    <root>/ab/abcdef....npz       # one result per key (arrays), written atomically

Hashing a large corpus costs time, so a memo maps a cheap signature of the files (device, inode,
size, modification time: one ``stat`` each) to their content hash; an unchanged file is never read
twice. A file rewritten in place with the same size and modification time would keep its stale hash
(the same trade-off ``make`` and ``rsync`` make). The memo is append-only text: concurrent writers
append whole lines, a torn last line is ignored on read.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import uuid
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from gymdata.safety import naming

_BUFFER = 1 << 20  # 1 MiB reads: hashing runs at disk or memory speed, not per-call overhead
_DIGEST = 20  # bytes of blake2b (160 bits)


def content_hash(files: Sequence[str | Path]) -> str:
    """blake2b of the bytes of ``files`` in order (each prefixed with its size, so splitting the
    same bytes differently into files gives another hash)."""
    digest = hashlib.blake2b(digest_size=_DIGEST)
    buf = bytearray(_BUFFER)
    view = memoryview(buf)
    for path in files:
        with open(path, "rb", buffering=0) as fh:
            digest.update(f"{os.fstat(fh.fileno()).st_size}\n".encode())
            while n := fh.readinto(buf):
                digest.update(view[:n])
    return digest.hexdigest()


def file_signature(files: Sequence[str | Path]) -> str:
    """A cheap signature of ``files``: their device, inode, size and mtime (one ``stat`` each).

    Raises:
        OSError: If a file is missing.
    """
    digest = hashlib.blake2b(digest_size=_DIGEST)
    for path in files:
        st = os.stat(path)
        digest.update(f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def result_key(content: str, params: Mapping) -> str:
    """The cache key of a result: the content hash and the parameters that produced it."""
    text = content + "\0" + json.dumps(params, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=_DIGEST).hexdigest()


class ResultCache:
    """A folder of per-clip results (dicts of numpy arrays) keyed by :func:`result_key`.

    Args:
        root: The cache folder (created on first write).
    """

    MEMO = "memo.tsv"

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._memo: dict[str, str] | None = None

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, or None if there are none (or the file is unreadable)."""
        path = self.path(key)
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error):
            # a truncated or damaged entry (a full disk, a killed copy): drop it so it is computed again
            with contextlib.suppress(OSError):
                path.unlink()
            return None

    def save(self, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Store ``arrays`` under ``key`` atomically (temporary file, then rename)."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
        try:
            buf = io.BytesIO()  # zipped in memory: a full disk fails one plain write, not zipfile's teardown
            np.savez(buf, **arrays)
            with naming(path), open(tmp, "wb") as fh:
                fh.write(buf.getbuffer())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    # -- memo: file signature -> content hash ------------------------------------------------

    def _load_memo(self) -> dict[str, str]:
        if self._memo is None:
            self._memo = {}
            try:
                text = (self.root / self.MEMO).read_text()
            except FileNotFoundError:
                text = ""
            for line in text.splitlines():
                parts = line.split("\t")
                if len(parts) == 2 and len(parts[0]) == len(parts[1]) == 2 * _DIGEST:
                    self._memo[parts[0]] = parts[1]
        return self._memo

    def known_hash(self, signature: str) -> str | None:
        """The content hash remembered for a file signature, if any."""
        return self._load_memo().get(signature)

    def remember(self, signature: str, content: str) -> None:
        """Remember that files with ``signature`` have content hash ``content``."""
        memo = self._load_memo()
        if memo.get(signature) == content:
            return
        memo[signature] = content
        self.root.mkdir(parents=True, exist_ok=True)
        # one short O_APPEND write per line: concurrent runs interleave whole lines
        fd = os.open(self.root / self.MEMO, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            with naming(self.root / self.MEMO):
                os.write(fd, f"{signature}\t{content}\n".encode())
        finally:
            os.close(fd)
