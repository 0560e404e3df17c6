"""End to end in a real browser: ``gymdata app`` serves a pushed dataset, a person labels in the
"Gym labels" panel (a criterion, the score, a repetition), ``gymdata fiftyone pull`` brings the labels
into the store with their annotator.

Headless Debian ``chromium`` driven by Playwright. The screenshot of the labelled clip (video with
its pose, and the panel) is kept as ``artifacts/app_e2e.png`` (or under ``$GYMDATA_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import pytest

from annotators.pull import pull
from gymdata import store
from tests import fo_support as fs
from tests.fo_support import fo_db, mongod, repeat_browser  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow
ANNOTATOR = "Ada Tester"


@pytest.fixture
def app(fo_db, mongod, tmp_path):
    """``gymdata app clips`` on the test database (it pushes first), as its own process tree."""
    fs.make_store(tmp_path, frames=48)
    with fs.run_app(tmp_path, mongod, annotator="default-user") as served:
        yield served


@repeat_browser
def test_label_in_the_browser_then_pull(app, tmp_path, browser_round):
    with fs.chromium() as browser:
        page = fs.new_page(browser)
        try:
            fs.open_modal(page, app)  # the clip is open before the panel loads
            panel = fs.open_panel(page, "gym_labels")
            title = panel.locator("h4").first
            clip = title.inner_text().strip()  # the panel's title: the clip's video_id

            def field(label: str):  # the first input after a label (repetitions come before states)
                return panel.locator(f'xpath=.//p[starts-with(normalize-space(text()), "{label}")]'
                                     '/following::input[1]').first

            field("Annotator").fill(ANNOTATOR)  # once for the session
            page.wait_for_timeout(1500)  # the panel's state is synced shortly after typing (no visible sign)
            panel.get_by_role("radio", name="fail").first.check()
            panel.get_by_text(f"fail by {ANNOTATOR} (human").wait_for()  # who and when, next to the criterion
            field("Score").fill("82")
            page.wait_for_timeout(1500)  # the panel's state is synced shortly after typing
            panel.get_by_role("button", name="Set score").click()
            panel.get_by_text(f"now 82 by {ANNOTATOR}").wait_for()
            field("Start frame").fill("30")
            field("End frame").fill("40")
            page.wait_for_timeout(1500)
            panel.get_by_role("button", name="Add repetition").click()
            new_rep = panel.get_by_role("row").filter(has_text="30-40").filter(has_text="human")
            new_rep.filter(has_text=ANNOTATOR).wait_for()
            fs.show_player_beside(page)  # the video next to the panel
            page.wait_for_timeout(3000)
            fs.ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(fs.ARTIFACTS / "app_e2e.png"))
        except Exception as exc:  # noqa: BLE001 - any failure: keep the screenshot and the logs
            fs.fail_with_artifacts(page, app, "app_e2e", exc)

    report = pull("clips")
    assert report.edits == 3 and report.by_annotator == {ANNOTATOR: 3}
    ds = store.open_dataset("clips")
    crit = ds.df("criteria", filter={"origin": "human"})
    assert crit[["video_id", "annotator", "passed"]].values.tolist() == [[clip, ANNOTATOR, False]]
    score = ds.df("scores", filter={"origin": "human"})
    assert score[["video_id", "annotator", "value"]].values.tolist() == [[clip, ANNOTATOR, 82.0]]
    reps = ds.df("segments", filter={"origin": "human"})
    assert set(reps["annotator"]) == {ANNOTATOR} and [30, 40] in reps[["start_frame", "end_frame"]].values.tolist()
    assert (fs.ARTIFACTS / "app_e2e.png").stat().st_size > 20_000
