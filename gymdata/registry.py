"""Plugin registry: importers, exporters, models and extra commands found through entry points.

The core never imports the edge packages (``importers``, ``exporters``, ``annotators``,
``baselines``). Each registers itself in ``pyproject.toml`` under one of these entry-point groups,
and so can any third-party distribution::

    [project.entry-points."gymdata.importers"]
    mycorpus = "my_package.importer:importer"    # a gymdata.importer.Importer spec

Groups and what an entry point must name:
    * ``gymdata.importers``: a :class:`gymdata.importer.Importer` spec (or a ``click.Command``),
      run as ``gymdata import <name> ...``; its ``official_splits`` are asked for by
      :mod:`gymdata.splits` for clips of the corpus of that name;
    * ``gymdata.exporters``: a callable ``exporter(ds, out, *, split=None, overwrite=False, workers=1,
      progress=True, **options)`` returning an object whose ``str()`` is a one-line summary, run by
      ``gymdata export NAME --format <name> ...`` (the contract is documented in :mod:`exporters`;
      :class:`exporters.Exporter` implements it; ``gymdata export --list-formats`` shows its
      ``description`` attribute, else its docstring's first line, and its ``options`` if it has them);
    * ``gymdata.models``: a ``click.Command`` run as ``gymdata train <name> ...``;
    * ``gymdata.commands``: a ``click.Command`` or group added at the top level of ``gymdata``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

from gymdata.errors import PluginError

GROUPS = ("gymdata.importers", "gymdata.exporters", "gymdata.models", "gymdata.commands")


@lru_cache(maxsize=None)
def available(group: str) -> dict[str, EntryPoint]:
    """Entry points of a group, by name (not loaded)."""
    if group not in GROUPS:
        raise PluginError(f"unknown plugin group {group!r}")
    return {ep.name: ep for ep in entry_points(group=group)}


def load(group: str, name: str):
    """Load the object registered as ``name`` in ``group``.

    Raises:
        PluginError: If nothing is registered under that name, or it fails to import.
    """
    eps = available(group)
    if name not in eps:
        kind = group.split(".")[1].rstrip("s")
        raise PluginError(f"unknown {kind} {name!r}", hint=f"available: {', '.join(sorted(eps)) or 'none installed'}")
    try:
        return eps[name].load()
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"{group} plugin {name!r} failed to load: {exc}",
                          hint="is its optional dependency installed?") from None
