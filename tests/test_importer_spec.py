"""The Importer spec: every registered importer declares one, its command is generated from it,
and the spec checks its options and passes only the arguments its function takes."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner
import pytest

from gymdata import registry
from gymdata.commands.imports import as_command, command_for
from gymdata.errors import InputError, PluginError
from gymdata.importer import ImportOption, Importer

COMMON = {"--name", "--force", "--drop-labels", "--workers", "--quiet", "--json"}


def test_every_registered_importer_is_a_spec_with_a_generated_command():
    names = sorted(registry.available("gymdata.importers"))
    assert {"videos", "ucf101", "alex-gym-1", "flex", "repcount", "pose-counting"} <= set(names)
    for name in names:
        spec = registry.load("gymdata.importers", name)
        assert isinstance(spec, Importer) and spec.name == name
        command = as_command(spec)
        flags = [o for p in command.params for o in getattr(p, "opts", [])]
        assert isinstance(command.params[0], click.Argument) and command.params[0].name == spec.input
        assert COMMON <= set(flags) and {o.flag for o in spec.options} <= set(flags)
        # the importer's own options come first, in their declared order, then the common ones
        own = [p.opts[0] for p in command.params[1:1 + len(spec.options)]]
        assert own == [o.flag for o in spec.options]
        assert command.help.split("\n")[0] == spec.help.split("\n")[0]


def _spec(run, **kwargs) -> Importer:
    return Importer(name="toy", help="A toy corpus.", run=run,
                    options=(ImportOption("--level", "A level.", type=int, default=3),
                             ImportOption("--strict", "Be strict.", type=bool, default=False)), **kwargs)


def test_spec_fills_defaults_and_passes_workers_only_where_taken():
    calls = []

    def run(root: Path, name: str, *, force: bool, level: int, strict: bool):
        calls.append((root, name, force, level, strict))
        return "report"

    report, notes = _spec(run)("/some/where", "ds", level=5, workers=4)
    assert report == "report" and notes == []
    assert calls == [(Path("/some/where"), "ds", False, 5, False)]

    def run_with_workers(root, name, *, force, level, strict, workers, progress):
        return "r", ["a note"]

    assert _spec(run_with_workers)("x", "ds", workers=4, progress=False) == ("r", ["a note"])


def test_spec_refuses_an_option_it_does_not_have():
    with pytest.raises(InputError, match="importer 'toy' has no option 'levle'") as err:
        _spec(lambda *a, **k: None)("x", "ds", levle=1)
    assert "--level" in err.value.hint


def test_generated_command_parses_typed_options(tmp_path):
    seen = {}

    class Report:
        def echo(self):
            click.echo("done")

    def run(root, name, *, force, level, strict, workers):
        seen.update(root=root, name=name, level=level, strict=strict, workers=workers)
        return Report(), ["skipped one"]

    result = CliRunner().invoke(command_for(_spec(run)),
                                              [str(tmp_path), "--level", "7", "--strict", "--name", "d", "-j", "3"])
    assert result.exit_code == 0, result.output
    assert seen == {"root": tmp_path, "name": "d", "level": 7, "strict": True, "workers": 3}
    assert "done" in result.stdout and "skipped one" in result.stderr
    bad = CliRunner().invoke(command_for(_spec(run)), [str(tmp_path), "--level", "x", "--name", "d"])
    assert bad.exit_code != 0 and "'x' is not a valid integer" in bad.output


def test_a_click_command_is_still_accepted_and_anything_else_is_a_plugin_error():
    command = click.Command("legacy", callback=lambda: None)
    assert as_command(command) is command
    with pytest.raises(PluginError, match="neither"):
        as_command(object())
