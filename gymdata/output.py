"""The CLI's one output convention: a short human summary by default, ``--json`` for the machine form.

Every command that produces a result takes :func:`json_option`; it prints through :func:`emit`,
which writes either the summary lines or one JSON document on stdout (progress bars and logs go to
stderr, so ``gymdata CMD --json | jq`` always parses). Commands whose printing happens deep in
shared code (importers, training) read :func:`json_requested` from the click context.
:func:`format_table` is the summaries' one table layout.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

_META_KEY = "gymdata.json"
JSON_HELP = "Print the result as JSON (the machine form) instead of the summary."


def _remember(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta[_META_KEY] = True  # ctx.meta is shared by the whole command chain
    return value


def json_option(func: Callable) -> Callable:
    """The ``--json`` flag (passed to the command as ``as_json``)."""
    return click.option("--json", "as_json", is_flag=True, callback=_remember, help=JSON_HELP)(func)


def json_requested() -> bool:
    """Whether the running command was given ``--json``."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.meta.get(_META_KEY))


def jsonable(obj: Any) -> Any:
    """``obj`` with dataclasses, paths, numpy/pandas values, dates and NaN made JSON-friendly."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (dt.datetime, dt.date)):
        return obj.isoformat()
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if hasattr(obj, "to_dict") and callable(obj.to_dict) and type(obj).__module__.startswith("pandas"):
        return jsonable(obj.to_dict())
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy arrays and scalars
        return jsonable(obj.tolist())
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    return str(obj)


def emit(data: Any, lines: Iterable[str] | str, as_json: bool | None = None) -> None:
    """Print ``data`` as JSON when ``--json`` was given, else the summary ``lines``."""
    if as_json is None:
        as_json = json_requested()
    if as_json:
        click.echo(json.dumps(jsonable(data), indent=2, ensure_ascii=False))
        return
    for line in [lines] if isinstance(lines, str) else lines:
        click.echo(line)


def format_table(headers: list[str], rows: list[list]) -> str:
    """A plain-text table with right-aligned numbers."""
    cells = [[("-" if v is None else f"{v:.3g}" if isinstance(v, float) else str(v)) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) for i in range(len(headers))]

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])
