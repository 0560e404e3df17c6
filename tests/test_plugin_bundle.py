"""The App plugin's JS bundle ships built, registers the "Gym keys" panel, calls only operators the
plugin declares, and the README's key map is exactly the keys the panel binds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "annotators" / "plugin"
SRC = PLUGIN / "js" / "src"
README = (ROOT / "README.md").read_text()


def _keymap_js() -> tuple[list[str], dict[str, list[str]]]:
    """(KEYMAP's key names in order, BOUND: key name -> KeyboardEvent.key values) of keys.js."""
    text = (SRC / "keys.js").read_text()
    keymap = re.findall(r'\{ key: "([^"]+)", action: "', text)
    bound = {}
    for quoted, word, values in re.findall(r'^\s*(?:"([^"]+)"|(\w+)): \[(.*)\],$',
                                            text[text.index("export const BOUND"):], re.M):
        bound[quoted or word] = re.findall(r'"([^"]+)"', values)
    return keymap, bound


def _readme_keys() -> list[str]:
    section = README[README.index("#### Labelling walkthrough"):]
    section = section[:section.index("\n### ")]
    table = section[section.index("| Key |"):]
    return re.findall(r"^\| `([^`]+)` \|", table, re.M)


def test_the_bundle_is_built_and_registers_the_panel():
    config = yaml.safe_load((PLUGIN / "fiftyone.yml").read_text())
    bundle = PLUGIN / config["js_bundle"]
    text = bundle.read_text()
    assert 1_000 < len(text) < 200_000, "the bundle is missing or not small"
    assert re.search(r'name: ?"GymKeys"', text) and "registerComponent" in text, "the panel is not registered"
    assert re.search(r'surfaces: ?"modal"', text), "the panel is not a sample-view (modal) panel"
    # React, recoil and FiftyOne's packages are the App's globals, not bundled copies
    for name in ("React", "recoil", "__fos__", "__foo__", "__fop__"):
        assert f"global.{name}" in text or f"window.{name}" in text or f'"{name}"' in text or name in text
    assert "react-dom" not in text and "createRoot" not in text
    # every operator the panel calls is one the plugin declares (FiftyOne refuses undeclared ones)
    called = set(re.findall(r'(?:edit|call)\("([a-z_]+)"', (SRC / "GymKeys.jsx").read_text()))
    assert called and called <= set(config["operators"]), called - set(config["operators"])
    assert called >= {"panel_state", "set_criterion", "pass_remaining", "set_score", "edit_repetition",
                      "add_repetition", "delete_repetition", "mark_state", "add_penalty", "move_penalty",
                      "delete_penalty", "accept_suggestions", "next_clip"}


def test_every_key_in_the_readme_key_map_is_bound_by_the_panel():
    keymap, bound = _keymap_js()
    handler = (SRC / "GymKeys.jsx").read_text()
    readme = _readme_keys()
    assert readme == keymap, "README's key map differs from annotators/plugin/js/src/keys.js"
    assert set(bound) == set(keymap)
    for name, keys in bound.items():
        assert keys, name
        for key in keys:
            if key.isdigit():
                assert "/^[0-9]$/.test(key)" in handler, name
            else:
                assert f'case "{key}":' in handler, f"{name}: {key!r} is not handled in GymKeys.jsx"


def test_the_committed_bundle_is_the_build_of_the_source(tmp_path):
    """vite's build is byte-stable: a stale dist/index.umd.js (source changed, `make js` not run) fails."""
    import shutil
    import subprocess

    js = PLUGIN / "js"
    if not shutil.which("npx") or not (js / "node_modules" / "vite").is_dir():
        pytest.skip("node/npm or the JS dev dependencies are not installed (make js installs them)")
    subprocess.run(["npx", "vite", "build", "--outDir", str(tmp_path), "--emptyOutDir"], cwd=js, check=True,
                   capture_output=True, timeout=300)
    assert (tmp_path / "index.umd.js").read_bytes() == (PLUGIN / "dist" / "index.umd.js").read_bytes(), \
        "annotators/plugin/dist/index.umd.js is stale: run `make js` and commit it"
