"""Done-when of issue 16 in a real browser: one two-view take labelled completely in at most 20 actions.

``gymdata app`` serves one squat take (frontal and lateral clips, five criteria each, and the
composite "take" slice the modal opens on). In headless Debian Chromium (Playwright), an annotator
labels the take in the "Gym keys" panel, counting every UI action (a click, a key press or hold, a
drag, a typed field = 1):

* the counter's repetitions accepted (G), one boundary moved by dragging it on the timeline;
* A/R states painted by holding A, then R, while the video plays;
* every criterion of both views (Shift+P passes all, then one is failed: 3, F);
* the quality score typed (Q, "85" Enter); one penalty over the selected repetition (X, typed).

Then the panel is shown the lateral view (V) and one verdict given there lands on the lateral clip
(not counted: it is not part of labelling the take). A pull must bring every label into the store
with the annotator and a time. Screenshots: ``artifacts/take_e2e*.png``.
"""

from __future__ import annotations

import pandas as pd
import pytest

from annotators.pull import pull
from annotators.push import push
from gymdata import store
from tests import fo_support
from tests.fo_support import (ARTIFACTS, KEYS_IDLE, chromium, fail_with_artifacts, fo_db,  # noqa: F401
                              make_store, mongod, new_page, open_modal, repeat_browser, run_app)

pytestmark = pytest.mark.slow
ANNOTATOR = "Ada Keys"
FIVE = {"frontal": [f"Front {i} F" for i in range(1, 6)], "lateral": [f"Side {i} L" for i in range(1, 6)]}
MAX_ACTIONS = 20
PANEL = '[data-cy="gym-keys"]'


class Actions:
    """Counts what the annotator does; each method is one action."""

    def __init__(self, page):
        self.page, self.log = page, []

    def _count(self, what: str) -> None:
        self.log.append(what)
        self.page.gym_note(f"action {what}")

    def click(self, locator, what: str) -> None:
        locator.click()
        self._count(f"click {what}")

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self._count(f"key {key}")

    def hold(self, key: str, until_frame: int, *, shot: tuple[int, str] | None = None) -> tuple[int, int]:
        """Hold a key down until the video has played to ``until_frame`` (with ``shot``: take a
        screenshot when it reaches that frame); returns the frames painted, as the panel showed them
        just before the key went up."""
        self.page.keyboard.down(key)
        if shot:
            self.page.wait_for_function(f"document.querySelector('{PANEL}').dataset.frame >= {shot[0]}",
                                        timeout=120_000)
            self.page.screenshot(path=shot[1])
        self.page.wait_for_function(f"document.querySelector('{PANEL}').dataset.frame >= {until_frame}",
                                    timeout=120_000)
        label, frames = self.page.locator(PANEL).get_attribute("data-paint").split(":")
        self.page.keyboard.up(key)
        first, last = (int(x) for x in frames.split("-"))
        assert label == key.upper()
        self._count(f"hold {key} (painted frames {first}-{last})")
        return first, last

    def drag(self, handle, dx: float, what: str) -> None:
        box = handle.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        self.page.mouse.move(x + dx / 2, y, steps=5)
        self.page.mouse.move(x + dx, y, steps=5)
        self.page.mouse.up()
        self._count(f"drag {what}")

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.page.keyboard.press("Enter")
        self._count(f"type {text!r}")


def _log_sizes(dataset) -> dict[str, int]:
    return {str(d["_id"]): len(d.get("gymdata_log") or [])
            for d in dataset._sample_collection.find({}, {"gymdata_log": 1})}


def _idle(page) -> None:
    page.wait_for_function(KEYS_IDLE, timeout=120_000)


def _text(page, cy: str) -> str:
    return page.locator(f'[data-cy="{cy}"]').inner_text()


@repeat_browser
def test_one_two_view_take_is_labelled_in_at_most_20_actions(fo_db, mongod, tmp_path, monkeypatch, browser_round):
    monkeypatch.setattr(fo_support, "CRITERIA", FIVE)  # five criteria per view, as in ALEX-GYM-1
    make_store(tmp_path, takes=1, frames=48)
    push("clips", progress=False)
    dataset = fo_db.load_dataset("clips")
    untouched = _log_sizes(dataset)
    with run_app(tmp_path, mongod, annotator=ANNOTATOR) as app, chromium() as browser:
        page = new_page(browser)
        act = Actions(page)
        try:
            open_modal(page, app)
            act._count("click the take in the grid")
            act.log += [f"click again (lost): {m}" for m in page.gym_log if m.startswith("modal not open")]
            act.click(page.locator('[data-cy="panel-tab-gymkeys"]'), "the Gym keys tab")
            _idle(page)
            assert _text(page, "gym-title").startswith("take"), _text(page, "gym-title")
            assert page.locator('[data-cy^="gym-crit-"]').count() == 10
            assert _log_sizes(dataset) == untouched  # opening the take and the panel recorded nothing
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "take_e2e_open.png"))

            act.press("g")  # accept the counter's repetitions and states
            page.locator('[data-cy="gym-reps"]', has_text=f"by {ANNOTATOR}").wait_for()
            _idle(page)
            reps = page.evaluate("() => document.querySelector('[data-cy=gym-reps]').innerText")
            first_end = int(reps.split(":", 1)[1].split(",")[0].split("-")[1].split(" ")[0])
            track = page.locator('[data-cy="gym-track-reps"]').bounding_box()
            per_frame = track["width"] / 48
            act.drag(page.locator('[data-cy="gym-reps-0-end"]'), -2 * per_frame, "the first repetition's end")
            _idle(page)
            page.wait_for_function(f"!document.querySelector('[data-cy=gym-reps]').innerText"
                                   f".includes('-{first_end} by')")
            moved_reps = _text(page, "gym-reps")

            act.press("Space")  # play
            page.wait_for_function(f"document.querySelector('{PANEL}').dataset.playing === '1'")
            held = {"A": act.hold("a", 14), "R": act.hold("r", 26, shot=(20, str(ARTIFACTS / "take_e2e_paint.png")))}
            page.locator('[data-cy="gym-states"]', has_text="A ").wait_for()
            _idle(page)

            act.press("Shift+P")  # pass every criterion of both views
            page.wait_for_function("(who) => document.querySelectorAll(`[data-cy^=gym-crit-][data-verdict=pass]"
                                   "[data-by='${who}']`).length === 10", arg=ANNOTATOR)
            act.press("3")
            act.press("f")  # criterion 3 fails
            page.locator('[data-cy="gym-crit-2"][data-verdict="fail"]').wait_for()
            act.press("q")
            page.locator('[data-cy="gym-score-input"]').wait_for()
            act.type("85")
            page.locator('[data-cy="gym-score"]', has_text=f"85 by {ANNOTATOR}").wait_for()
            act.press("x")  # a penalty over the selected (dragged) repetition
            page.locator('[data-cy="gym-penalty-input"]').wait_for()
            act.type("knees_in")
            page.locator('[data-cy="gym-penalties"]', has_text="knees_in").wait_for()
            _idle(page)
            page.screenshot(path=str(ARTIFACTS / "take_e2e.png"))
            counted = list(act.log)

            # not part of the take: the panel follows the view the App shows; an edit there lands on it
            labelled = _log_sizes(dataset)
            for _ in range(3):
                if "_lateral" in _text(page, "gym-title"):
                    break
                page.keyboard.press("v")
                page.wait_for_function("(old) => document.querySelector('[data-cy=gym-title]') && "
                                       "document.querySelector('[data-cy=gym-title]').innerText !== old",
                                       arg=_text(page, "gym-title"))
                _idle(page)
            assert _text(page, "gym-title") == "s0_lateral"
            assert _log_sizes(dataset) == labelled  # switching views recorded nothing
            page.keyboard.press("1")
            page.keyboard.press("u")
            page.locator('[data-cy="gym-crit-0"][data-verdict="unsure"]').wait_for()
            _idle(page)
            # a repetition made with N at the playhead (frame 0 of the lateral clip), selected, then deleted
            before = _text(page, "gym-reps")
            page.keyboard.press("n")
            page.locator('[data-cy="gym-reps"]', has_text="(5)").wait_for()
            _idle(page)
            assert _text(page, "gym-reps").split(": ", 1)[1].startswith("0-")
            page.locator('[data-cy="gym-reps-0"]').click(position={"x": 8, "y": 8})  # selects it (left of rep 1-9)
            page.keyboard.press("Delete")
            page.locator('[data-cy="gym-reps"]', has_text="(4)").wait_for()
            _idle(page)
            assert _text(page, "gym-reps") == before
            page.screenshot(path=str(ARTIFACTS / "take_e2e_lateral.png"))
        except Exception as exc:
            fail_with_artifacts(page, app, "take_e2e", exc)
    print(f"{len(counted)} actions: " + "; ".join(counted))
    assert len(counted) <= MAX_ACTIONS, counted

    report = pull("clips")
    assert set(report.by_annotator) == {ANNOTATOR}, report.lines()
    ds = store.open_dataset("clips")
    mine = {"origin": "human", "annotator": ANNOTATOR}
    crit = ds.df("criteria", filter=mine)
    assert crit["created_at"].notna().all()
    latest = crit.sort_values("created_at").drop_duplicates(["video_id", "criterion"], keep="last")
    latest = latest.set_index(["video_id", "criterion"])
    assert len(latest) == 10  # every criterion of both views, by the annotator
    passed = {c: p for (_, c), p in latest["passed"].items()}
    assert passed.pop("Front 3 F") == False
    assert pd.isna(passed.pop("Side 1 L"))  # unsure: given later on the lateral view, landed on lateral
    assert all(p == True for p in passed.values()), passed
    scores = ds.df("scores", filter=mine)
    assert sorted(scores["video_id"]) == ["s0_frontal", "s0_lateral"] and set(scores["value"]) == {85.0}
    segs = ds.df("segments", filter=mine)
    for vid in ("s0_frontal", "s0_lateral"):
        rows = segs[segs["video_id"] == vid]
        snap = {kind: rows[(rows["kind"] == kind) & (rows["created_at"] == rows.loc[rows["kind"] == kind,
                                                                                  "created_at"].max())]
                for kind in ("repetition", "state")}  # a segment edit writes the clip's whole set of that kind
        reps = sorted(zip(snap["repetition"]["start_frame"].astype(int), snap["repetition"]["end_frame"].astype(int)))
        assert len(reps) >= 2 and reps[0][1] != first_end and f"{reps[0][0]}-{reps[0][1]} by" in moved_reps, (vid, reps)
        runs = list(zip(snap["state"]["start_frame"], snap["state"]["end_frame"], snap["state"]["label"]))
        for label, (first, last) in held.items():  # frames played while the key was held are painted
            for f in range(first, last if label == "A" else last + 1):  # (R may start on A's last frame)
                assert [lab for a, b, lab in runs if a <= f <= b] == [label], (vid, label, f, runs)
    pens = ds.df("penalties", filter=mine)
    assert set(pens["video_id"]) == {"s0_frontal", "s0_lateral"} and set(pens["error_type"]) == {"knees_in"}
    assert pens["created_at"].notna().all()
