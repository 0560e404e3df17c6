"""End to end in a real browser: ``gymdata app`` serves a pushed dataset, a person labels in the
"Gym labels" panel (a criterion, the score, a repetition), ``gymdata fiftyone pull`` brings the labels
into the store with their annotator.

Headless Debian ``chromium`` driven by Playwright. The screenshot of the labelled clip (video with
its pose, and the panel) is kept as ``artifacts/app_e2e.png`` (or under ``$GYMDATA_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from annotators.pull import pull
from gymdata import store
from tests.fo_support import FO_ENV, fo_db, free_port, make_store, mongod  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("GYMDATA_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts"))
ANNOTATOR = "Ada Tester"
APP_LOGS: dict[str, Path] = {}


def app_log(url: str) -> str:
    """The last lines of the App server's log (for a failure message)."""
    log = APP_LOGS.get(url)
    return log.read_text()[-2000:] if log and log.is_file() else "(none)"


def stop_tree(proc: subprocess.Popen) -> None:
    """Stop a process and every process below it (the App server outlives its parent otherwise).

    Any of them may already have exited (or exit while this runs): that is the goal, not an error.
    """
    import psutil

    procs = []
    try:
        parent = psutil.Process(proc.pid)
        procs = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        pass
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=15)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    with contextlib.suppress(ProcessLookupError, PermissionError):  # whatever else is left in its session
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gymdata app exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(1)
    pytest.fail(f"the App did not answer at {url} within {timeout:.0f}s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def app(fo_db, mongod, tmp_path):
    """``gymdata app clips`` on the test database, as its own process tree: yields its base URL."""
    make_store(tmp_path, frames=48)
    port = free_port()
    env = {**os.environ, **FO_ENV, "FIFTYONE_DATABASE_NAME": os.environ["FIFTYONE_DATABASE_NAME"],
           "GYMDATA_HOME": str(store.home())}
    log = tmp_path / "app.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gymdata.cli", "app", "clips", "--port", str(port),
                                 "--database-uri", mongod, "--plugins-dir", str(tmp_path / "plugins"),
                                 "--annotator", "default-user"],
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc, log)
        APP_LOGS[f"http://127.0.0.1:{port}"] = log
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_tree(proc)


def test_label_in_the_browser_then_pull(app, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(60_000)
            browser_log: list[str] = []  # for a failure message: the App's requests and console errors
            page.on("console", lambda m: browser_log.append(f"{m.type}: {m.text[:200]}") if m.type == "error" else None)
            page.on("response", lambda r: browser_log.append(f"{r.status} {r.url.split('/', 3)[-1][:80]}")
                    if "operators" in r.url or "plugins" in r.url or r.status >= 400 else None)
            page.goto(f"{app}/datasets/clips", wait_until="domcontentloaded")
            # FiftyOne's "Explore Enterprise" pop-up can come up at any moment and take the next click:
            # dismiss it whenever it is there before an action
            page.add_locator_handler(page.get_by_role("button", name="Dismiss"),
                                     lambda button: button.dispatch_event("click"), no_wait_after=True)
            tile = page.locator('[data-cy="fo-grid"] [data-cy="looker"]').first
            modal = page.locator('[data-cy="modal"]')
            panel = page.locator('[data-cy="panel-content-gym_labels"]')
            try:
                tile.wait_for()
                opened_by = time.monotonic() + 150
                attempt = 0
                while time.monotonic() < opened_by:  # a click on a grid still laying out can be lost: retry
                    attempt += 1
                    tile.click()
                    try:
                        modal.wait_for(timeout=20_000)
                        break
                    except sync_api.TimeoutError:
                        browser_log.append(f"modal not open after click {attempt}")
                modal.wait_for()  # the clip is open before the panel loads
                # the plugin's panel registers once the App has loaded the plugin (slow under load): wait for
                # its tab, open it, and wait for the panel's title; a click lost while the modal lays out is retried
                tab = page.locator('[data-cy="panel-tab-gym_labels"]')
                title = panel.locator("h4").first
                deadline = time.monotonic() + 180
                while True:
                    tab.click(timeout=max(1_000, int((deadline - time.monotonic()) * 1000)))
                    try:  # the clip's panel, or its "Open a clip" line
                        panel.get_by_text("Open a clip").or_(title).first.wait_for(timeout=30_000)
                    except sync_api.TimeoutError:
                        pass
                    if title.is_visible():
                        break
                    browser_log.append("panel not showing the clip after clicking its tab")
                    if time.monotonic() > deadline:
                        raise sync_api.TimeoutError("the Gym labels panel never showed the open clip")
                    # a panel loaded before the App set its current sample shows "Open a clip" and gets no
                    # later event: show another tab, then ours again (the loop clicks it), to load it anew
                    page.locator('[data-cy="panel-tab-fo-sample-modal-plugin"]').click()
                clip = title.inner_text().strip()  # the panel's title: the clip's video_id

                def field(label: str):  # the first input after a label (repetitions come before states)
                    return panel.locator(f'xpath=.//p[starts-with(normalize-space(text()), "{label}")]'
                                         '/following::input[1]').first

                field("Annotator").fill(ANNOTATOR)  # once for the session
                page.wait_for_timeout(1500)  # the panel's state is synced shortly after typing
                panel.get_by_role("radio", name="fail").first.check()
                panel.get_by_text(f"fail by {ANNOTATOR} (human").wait_for()  # who and when, next to the criterion
                field("Score").fill("82")
                page.wait_for_timeout(1500)
                panel.get_by_role("button", name="Set score").click()
                panel.get_by_text(f"now 82 by {ANNOTATOR}").wait_for()
                field("Start frame").fill("30")
                field("End frame").fill("40")
                page.wait_for_timeout(1500)
                panel.get_by_role("button", name="Add repetition").click()
                new_rep = panel.get_by_role("row").filter(has_text="30-40").filter(has_text="human")
                new_rep.filter(has_text=ANNOTATOR).wait_for()
                page.locator('button[title="Split horizontally"]').first.click()  # video next to the panel
                page.wait_for_timeout(3000)
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "app_e2e.png"))
            except sync_api.Error as exc:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "app_e2e_failed.png"))
                shown = panel.inner_text(timeout=5_000) if panel.count() else "(no panel)"
                pytest.fail(f"{str(exc).splitlines()[0]}\nthe Gym labels panel shows: {shown[:500]!r}\n"
                            f"browser: {'; '.join(browser_log[-15:])}\nscreenshot {ARTIFACTS / 'app_e2e_failed.png'}"
                            f"\nApp log:\n{app_log(app)}")
        finally:
            browser.close()

    report = pull("clips")
    assert report.edits == 3 and report.by_annotator == {ANNOTATOR: 3}
    ds = store.open_dataset("clips")
    crit = ds.df("criteria", filter={"origin": "human"})
    assert crit[["video_id", "annotator", "passed"]].values.tolist() == [[clip, ANNOTATOR, False]]
    score = ds.df("scores", filter={"origin": "human"})
    assert score[["video_id", "annotator", "value"]].values.tolist() == [[clip, ANNOTATOR, 82.0]]
    reps = ds.df("segments", filter={"origin": "human"})
    assert set(reps["annotator"]) == {ANNOTATOR} and [30, 40] in reps[["start_frame", "end_frame"]].values.tolist()
    assert (ARTIFACTS / "app_e2e.png").stat().st_size > 20_000
