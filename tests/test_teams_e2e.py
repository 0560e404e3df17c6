"""Teams in a real browser (headless Debian Chromium through Playwright).

* An edit made in FiftyOne's own **Annotate** mode on a two-view take (a repetition's end dragged on
  the App's timeline) is pulled for both view clips under the annotator whose FiftyOne dataset it
  is, timed when the App saved it.
* Two annotators, two ``gymdata app`` sessions at once (own port, own blind dataset): navigating in
  one does not move the other, and neither shows the other's labels.

Screenshots go to ``artifacts/`` (or ``$GYMDATA_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import pytest

from annotators import foapi, takes
from annotators import labels as L
from annotators.pull import pull
from annotators.push import push
from gymdata import store
from tests.fo_support import (  # noqa: F401
    ARTIFACTS,
    KEYS_IDLE,
    chromium,
    fail_with_artifacts,
    fo_db,
    make_store,
    mongod,
    new_page,
    open_modal,
    open_panel,
    repeat_browser,
    run_app,
    show_player_beside,
)

pytestmark = pytest.mark.slow


def _take_doc(dataset, take_id):
    return dataset._sample_collection.find_one({"_id": foapi._oid(take_id)})


def _keys_idle(page) -> str:
    """Wait until the Gym keys panel has loaded the clip it shows and no call is in flight: its title."""
    page.wait_for_function(KEYS_IDLE)
    return page.locator('[data-cy="gym-title"]').inner_text()


def _keys_changes(page, action) -> str:
    """Do ``action`` and wait until the Gym keys panel shows another clip: the new title."""
    old = _keys_idle(page)
    action()
    page.wait_for_function("(old) => { const t = document.querySelector('[data-cy=gym-title]');"
                           " return t && t.innerText !== old && t.innerText !== 'loading...'; }", arg=old)
    return _keys_idle(page)


@repeat_browser
def test_a_timeline_drag_in_annotate_mode_is_pulled_for_both_views_as_the_owner(fo_db, mongod, tmp_path,
                                                                                browser_round):
    make_store(tmp_path, takes=1, frames=48)
    push("clips", fo_name="clips-ana", blind_for="ana", progress=False)
    dataset = fo_db.load_dataset("clips-ana")
    take = dataset.select_group_slices(takes.TAKE_SLICE).first()
    before = [d["support"] for d in _take_doc(dataset, take.id)["repetitions"]["detections"]]
    assert before == [[3, 11], [13, 21]]
    with run_app(tmp_path, mongod, fo_name="clips-ana", annotator="ana") as app, chromium() as browser:
        page = new_page(browser)
        try:
            open_modal(page, app)
            page.locator('[data-cy="annotate"]').click()  # FiftyOne's own Annotate mode
            page.get_by_role("button", name="Show tracks").click()
            end = page.get_by_label("Resize interval end").first
            end.wait_for()
            page.wait_for_timeout(1000)  # let the timeline settle before dragging
            box = end.bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            with page.expect_response(lambda r: r.request.method == "PATCH" and r.ok, timeout=60_000):
                page.mouse.move(x, y)
                page.mouse.down()
                page.mouse.move(x + 40, y, steps=8)
                page.mouse.move(x + 80, y, steps=8)
                page.mouse.up()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "annotate_take_drag.png"))
        except Exception as exc:  # noqa: BLE001 - any failure: keep the screenshot and the logs
            fail_with_artifacts(page, app, "annotate_take_drag", exc)
    doc = _take_doc(dataset, take.id)
    after = sorted(d["support"] for d in doc["repetitions"]["detections"])
    assert after[0][0] == 3 and after[0][1] > 11, after  # the App saved the longer repetition on the take
    saved_at = doc["last_modified_at"]

    report = pull("clips", fo_name="clips-ana")
    assert report.by_annotator == {"ana": 2}, report.lines()  # one take edit, on both view clips
    ds = store.open_dataset("clips")
    rows = ds.df("segments", filter={"origin": "human"})
    assert set(rows["annotator"]) == {"ana"} and set(rows["video_id"]) == {"s0_frontal", "s0_lateral"}
    assert {t.replace(tzinfo=None) for t in rows["created_at"]} == {saved_at.replace(tzinfo=None)}
    for vid in ("s0_frontal", "s0_lateral"):
        mine = rows[(rows["video_id"] == vid) & (rows["kind"] == "repetition")]
        assert sorted(zip(mine["start_frame"], mine["end_frame"])) == [(2, after[0][1] - 1), (12, 20)]
    assert pull("clips", fo_name="clips-ana").edits == 0


@repeat_browser
def test_two_annotators_two_sessions_do_not_move_or_see_each_other(fo_db, mongod, tmp_path, browser_round):
    make_store(tmp_path, takes=3, frames=30)
    push("clips", fo_name="clips-ana", blind_for="ana", progress=False)
    ana_ds = fo_db.load_dataset("clips-ana")
    for take in ana_ds.select_group_slices(takes.TAKE_SLICE):  # ana has judged every take in her copy
        takes.apply_edits(ana_ds, take.id, [L.make_edit("criterion", "ana", name="Depth L", verdict="fail"),
                                            L.make_edit("score", "ana", value=17)])
    pull("clips", fo_name="clips-ana")
    push("clips", fo_name="clips-ben", blind_for="ben", progress=False)  # after ana's pull: still blind
    with (run_app(tmp_path, mongod, fo_name="clips-ana", annotator="ana") as ana_app,
          run_app(tmp_path, mongod, fo_name="clips-ben", annotator="ben") as ben_app,
          chromium() as browser):
        ana, ben = new_page(browser), new_page(browser)
        page, app = ana, ana_app
        try:
            open_modal(ana, ana_app)
            page, app = ben, ben_app
            open_modal(ben, ben_app)

            def shown(p) -> str:  # the modal's top bar: the file of the sample shown (one per take)
                return p.locator('[data-cy="modal"]').get_by_text(".mp4").first.inner_text().strip()

            def sidebar(p) -> str:
                return p.locator('[data-cy="modal"] [data-cy="sidebar"]').inner_text()

            ben_file, ben_url = shown(ben), ben.url
            seen = [shown(ana)]
            page, app = ana, ana_app
            for _ in range(2):  # ana walks to the next takes; ben's App stays on its sample
                ana.locator('[data-cy="nav-right-button"]').click()
                ana.wait_for_function("([el, old]) => el && !el.innerText.includes(old)",
                                      arg=[ana.locator('[data-cy="modal"]').element_handle(), seen[-1]])
                seen.append(shown(ana))
                ben.wait_for_timeout(2000)  # time for a shared session to have pushed the change
                assert (shown(ben), ben.url) == (ben_file, ben_url), "ben's App moved with ana's"
            assert len(set(seen)) == 3, seen
            # blind: ana's App shows her labels; ben's shows the corpus's, never hers
            ana.locator('[data-cy="modal"] [data-cy="sidebar"]').get_by_text("17", exact=True).first.wait_for()
            page, app = ben, ben_app
            ben.locator('[data-cy="modal"] [data-cy="sidebar"]').get_by_text("score_quality").first.wait_for()
            ben_side = sidebar(ben)
            assert "17" not in ben_side.split() and "ana" not in ben_side.split(), ben_side
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            ana.screenshot(path=str(ARTIFACTS / "two_sessions_ana.png"))
            ben.screenshot(path=str(ARTIFACTS / "two_sessions_ben.png"))
        except Exception as exc:  # noqa: BLE001 - any failure: keep the screenshot and the logs
            fail_with_artifacts(page, app, "two_sessions", exc)
    ben_ds = fo_db.load_dataset("clips-ben")
    for take in ben_ds.select_group_slices(takes.TAKE_SLICE):
        assert take.score_quality in (60.0, 61.0, 62.0) and take.annotators == []


@repeat_browser
def test_browsing_takes_with_every_panel_open_records_nothing(fo_db, mongod, tmp_path, browser_round):
    """Ten clips (five takes) with every panel open (Gym labels beside the App's player, then beside
    the Gym keys panel, Annotate mode's tracks): open, step through the takes, switch views (the
    carousel, then V), reload, walk again: both panels always show the clip the App shows, a pull
    finds no edit and the store gains no row."""
    make_store(tmp_path, takes=5, frames=30)
    push("clips", fo_name="clips-ana", blind_for="ana", progress=False)
    dataset = fo_db.load_dataset("clips-ana")
    ds = store.open_dataset("clips")
    rows_before = {t: len(ds.df(t)) for t in ("criteria", "scores", "segments", "penalties") if ds.has(t)}
    shown_before = {str(d["_id"]): (d.get("repetitions"), d.get("criteria"), len(d.get("gymdata_log") or []))
                    for d in dataset._sample_collection.find({})}
    with run_app(tmp_path, mongod, fo_name="clips-ana", annotator="ana") as app, chromium() as browser:
        page = new_page(browser)
        try:
            for visit in range(2):  # the second time after a reload
                open_modal(page, app)
                open_panel(page, "gym_labels")
                show_player_beside(page)  # the video beside the form
                modal = page.locator('[data-cy="modal"]')
                for _ in range(4):  # forward through the five takes in the App's player
                    old = modal.get_by_text(".mp4").first.inner_text()
                    page.locator('[data-cy="nav-right-button"]').click()
                    page.wait_for_function("([el, old]) => el && !el.innerText.includes(old)",
                                           arg=[modal.element_handle(), old])
                    thumbs = modal.locator('[data-cy="looker"]')
                    for i in range(min(thumbs.count(), 3)):  # every slice of the take: frontal, lateral, take
                        thumbs.nth(i).click()
                        page.wait_for_timeout(300)
                # back through them with the Gym keys panel in that pane, V through each take's three views;
                # both panels show the clip the App shows
                page.locator('[data-cy="panel-tab-gymkeys"]').first.click()
                _keys_idle(page)
                seen = set()
                for step in range(5):
                    if step:
                        _keys_changes(page, lambda: page.locator('[data-cy="nav-left-button"]').click())
                    for _ in range(3):
                        title = _keys_changes(page, lambda: page.keyboard.press("v"))
                        seen.add(title)
                        if not title.startswith("take"):
                            page.wait_for_function(
                                "(t) => { const h = document.querySelector('[data-cy=panel-content-gym_labels] h4');"
                                " return h && h.innerText === t; }", arg=title)
                clips = {f"s{k}_{view}" for k in range(5) for view in ("frontal", "lateral")}
                assert seen == clips | {f"take of s{k}_frontal" for k in range(5)}, seen  # all 15 samples
                if visit == 0:
                    page.locator('[data-cy="panel-tab-fo-sample-modal-plugin"]').first.click()
                    page.locator('[data-cy="annotate"]').click()  # Annotate mode, its tracks shown
                    page.get_by_role("button", name="Show tracks").click()
                    page.get_by_label("Resize interval end").first.wait_for()
                    page.locator('[data-cy="nav-right-button"]').click()  # on one take, tracks shown
                    page.wait_for_timeout(1500)
                    page.locator('[data-cy="explore"]').click()
                    page.reload(wait_until="domcontentloaded")
            page.wait_for_timeout(3000)  # any late save would have landed by now
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "browse_takes.png"))
        except Exception as exc:  # noqa: BLE001
            fail_with_artifacts(page, app, "browse_takes", exc)
    shown_after = {str(d["_id"]): (d.get("repetitions"), d.get("criteria"), len(d.get("gymdata_log") or []))
                   for d in dataset._sample_collection.find({})}
    assert shown_after == shown_before
    report = pull("clips", fo_name="clips-ana")
    assert report.edits == 0, report.lines()
    ds = store.open_dataset("clips")
    assert {t: len(ds.df(t)) for t in rows_before} == rows_before
