"""In a real browser: browsing clips with the "Gym labels" panel open records nothing; a click does.

``gymdata app`` on ten clips (five takes x two views) that another annotator, bob, has judged. An
annotator, in her own App session, walks through every take with the panel open, switches the view
the panel labels, reloads the page and walks again: a pull then finds no edit at all. One deliberate
click on the lateral view is then recorded on the lateral clip, under her name. Headless Debian
``chromium`` driven by Playwright; a failure keeps ``artifacts/app_panel_failed.png`` and what
the browser and the App said.
"""

from __future__ import annotations

import pytest

from annotators import foapi
from annotators import labels as L
from annotators.pull import pull
from annotators.push import push
from gymdata import store
from tests import fo_support as fs
from tests.fo_support import fo_db, make_store, mongod, repeat_browser  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow
ANNOTATOR = "Ada Walker"


@pytest.fixture
def app10(fo_db, mongod, tmp_path):
    """Ten clips judged by bob and pulled, served by ``gymdata app``: yields (the App, FiftyOne dataset)."""
    make_store(tmp_path, takes=5, frames=30)
    push("clips", progress=False)
    dataset = fo_db.load_dataset("clips")
    for s in dataset.select_group_slices(["frontal", "lateral"]):  # the clips, not the takes
        names = foapi.exercise_criteria(dataset, "squat", s.view)
        foapi.apply_edits(dataset, s.id, [L.make_edit("criterion", "bob", name=n, verdict="fail") for n in names]
                          + [L.make_edit("score", "bob", value=33)])
    pull("clips")
    with fs.run_app(tmp_path, mongod, annotator=ANNOTATOR) as app:  # her own App session: a reload keeps her name
        yield app, dataset


def _log_sizes(dataset) -> dict[str, int]:
    return {d["video_id"]: len(d.get("gymdata_log") or [])
            for d in dataset._sample_collection.find({}, {"video_id": 1, "gymdata_log": 1})}


@repeat_browser
def test_browsing_with_the_panel_open_records_nothing(app10, browser_round):
    app, dataset = app10
    before = _log_sizes(dataset)
    with fs.chromium() as browser:
        page = fs.new_page(browser)
        panel = page.locator('[data-cy="panel-content-gym_labels"]')
        title = panel.locator("h4").first

        def walk() -> list[str]:
            seen = [title.inner_text().strip()]
            for _ in range(4):  # five takes
                page.locator('[data-cy="nav-right-button"]').click()
                page.wait_for_function("([el, old]) => el && el.innerText.trim() !== old",
                                       arg=[title.element_handle(), seen[-1]])
                seen.append(title.inner_text().strip())
                panel.get_by_role("radio", name="lateral").check()  # the take's other view, in the panel
                panel.locator("h4", has_text="_lateral").wait_for()
                panel.get_by_role("radio", name="frontal").check()
                panel.locator("h4", has_text="_frontal").wait_for()
            return seen

        try:
            fs.open_modal(page, app)
            fs.open_panel(page, "gym_labels")
            panel.get_by_text(f"edits are recorded as: {ANNOTATOR}").wait_for()
            seen = walk()
            assert len(set(seen)) == 5, seen
            # a reload: the page loaded afresh and a clip opened again (after a bare reload, FiftyOne gives
            # the panel no current sample until the clip changes: open_panel shows it anew)
            fs.open_modal(page, app)
            fs.open_panel(page, "gym_labels")
            page.wait_for_timeout(3000)  # let any late change event arrive before counting
            assert _log_sizes(dataset) == before
            # one deliberate click, on the lateral view of the clip open
            panel.get_by_role("radio", name="lateral").check()
            panel.locator("h4", has_text="_lateral").wait_for()
            lateral = title.inner_text().strip()
            panel.get_by_role("radio", name="unsure").first.check()
            panel.get_by_text(f"unsure by {ANNOTATOR} (human").wait_for()
        except Exception as exc:  # noqa: BLE001 - any failure: keep the screenshot and the logs
            fs.fail_with_artifacts(page, app, "app_panel", exc)
    report = pull("clips")
    assert report.by_annotator == {ANNOTATOR: 1}, report.lines()
    crit = store.open_dataset("clips").df("criteria", filter={"origin": "human", "annotator": ANNOTATOR})
    assert crit["video_id"].tolist() == [lateral] and lateral.endswith("_lateral")
