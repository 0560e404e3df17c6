"""The command line: help, plugin discovery, one-line errors, --verbose tracebacks, info/list/schema."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import run_cli


def test_help_lists_commands():
    code, out, _ = run_cli("--help")
    assert code == 0
    for command in ("demo", "import", "info", "list", "validate", "schema", "export", "train"):
        assert f"  {command}" in out


def test_import_lists_registered_importers():
    code, out, _ = run_cli("import", "--help")
    assert code == 0 and "videos" in out


def test_unknown_importer_is_one_line():
    code, _, err = run_cli("import", "nosuchcorpus", "x", "--name", "y")
    assert code == 1
    assert err.strip() == err.strip().splitlines()[0]
    assert "unknown importer 'nosuchcorpus'" in err and "videos" in err


def test_unknown_dataset_is_one_line_and_verbose_shows_traceback():
    code, _, err = run_cli("info", "ghost")
    assert code == 1 and err.startswith("error: no dataset named 'ghost'") and "Traceback" not in err
    code, _, err = run_cli("--verbose", "info", "ghost")
    assert code == 1 and "Traceback" in err


def test_list_info_and_schema(tmp_path, make_video):
    code, out, _ = run_cli("list")
    assert code == 0 and "no datasets" in out
    make_video(tmp_path / "d" / "squat" / "a.mp4")
    assert run_cli("import", "videos", str(tmp_path / "d"), "--name", "one", "--quiet")[0] == 0
    code, out, _ = run_cli("list")
    assert code == 0 and "one" in out and "videos" in out
    code, out, _ = run_cli("info", "one")
    assert code == 0 and "squat" in out and "clips" in out
    code, out, _ = run_cli("schema", "poses")
    assert code == 0 and "landmarks" in out and "videos:" not in out


def test_console_script_runs_as_a_process():
    proc = subprocess.run([sys.executable, "-m", "gymdata.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and "gymdata" in proc.stdout


def test_a_broken_plugin_does_not_hide_the_others(monkeypatch):
    from importlib.metadata import EntryPoint

    from gymdata import registry

    broken = EntryPoint(name="broken", value="no_such_module_xyz:command", group="gymdata.commands")
    real = registry.available.__wrapped__

    def with_broken(group):
        found = dict(real(group))
        if group == "gymdata.commands":
            found["broken"] = broken
        return found

    monkeypatch.setattr(registry, "available", with_broken)
    code, out, _ = run_cli("--help")
    assert code == 0 and "  list" in out and "broken" not in out
    code, _, err = run_cli("broken")
    assert code == 1 and "failed to load" in err
