"""The :class:`Importer` spec: what an importer declares about itself, once.

An importer module (``importers/<corpus>.py``) declares one :class:`Importer`: its name, help,
options, the function that imports, and the corpus's official splits; it registers it in the
``gymdata.importers`` entry-point group. ``gymdata import NAME`` is generated from it
(:mod:`gymdata.commands.imports`) and :mod:`gymdata.splits` asks it for the corpus's official
splits. The import itself is built from :mod:`gymdata.importing` (``run_import`` and helpers).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gymdata.errors import InputError

if TYPE_CHECKING:
    from gymdata.store import Dataset


@dataclass(frozen=True)
class ImportOption:
    """An option of one importer's command (the options every importer takes are added to all).

    Attributes:
        flag: The option as typed, e.g. ``--fold``; ``run`` receives it as the keyword ``fold``.
        help: One line for ``--help``.
        type: ``str``, ``int``, ``float``, ``bool`` (a flag) or :class:`~pathlib.Path`.
        default: Value when the option is not given (``--help`` shows it unless None or a flag).
        choices: Allowed values, if restricted.
        path: For a :class:`~pathlib.Path`: ``"file"`` or ``"folder"`` if it must be one of them.
    """

    flag: str
    help: str
    type: type = str
    default: Any = None
    choices: tuple[str, ...] | None = None
    path: str | None = None

    @property
    def key(self) -> str:
        """The keyword ``run`` receives the value as."""
        return self.flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class Importer:
    """A corpus importer, declared once: what ``gymdata import NAME`` runs and what the core asks
    about the corpus. Registered in the ``gymdata.importers`` entry-point group.

    Attributes:
        name: The command name; also the ``videos.corpus`` value of the clips it imports (the core
            finds a corpus's importer, and so its official splits, by that name).
        help: The command's help text; its first line is what ``gymdata import --help`` lists.
        run: ``run(input, name, *, force, **options)`` returning an :class:`ImportReport`, or the
            report and note lines (printed on stderr); it also receives ``workers`` (``-j``) and
            ``progress`` (not ``--quiet``) where its signature names them.
        input: Name of the command's one argument (``root``: the corpus folder; ``path``...).
        options: The importer's own options, in ``--help`` order.
        official_splits: ``official_splits(ds, videos) -> {split name: part per video_id}`` for the
            clips of this corpus (``videos`` rows as :func:`gymdata.splits.available_splits` reads
            them), or None if the corpus publishes none. Official splits are derived from the
            imported data on request, never stored.
    """

    name: str
    help: str
    run: Callable[..., Any]
    input: str = "root"
    options: tuple[ImportOption, ...] = ()
    official_splits: Callable[[Dataset | None, Any], dict[str, Any]] | None = None

    def __call__(self, input: str | Path, name: str, *, force: bool = False, workers: int = 2,
                 progress: bool = True, **options: Any) -> tuple[Any, list[str]]:
        """Run the import with the given options (defaults filled in).

        Returns:
            The :class:`~gymdata.importing.ImportReport` and the note lines (possibly none).

        Raises:
            InputError: On an option this importer does not have.
        """
        known = {o.key: o for o in self.options}
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise InputError(f"importer {self.name!r} has no option {unknown[0]!r}",
                             hint=f"its options: {', '.join(o.flag for o in self.options) or 'none'}")
        kwargs = {k: options.get(k, o.default) for k, o in known.items()}
        accepted = inspect.signature(self.run).parameters
        for key, value in (("workers", workers), ("progress", progress)):
            if key in accepted:
                kwargs[key] = value
        result = self.run(Path(input), name, force=force, **kwargs)
        report, notes = result if isinstance(result, tuple) else (result, [])
        return report, list(notes)
