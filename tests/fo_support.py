"""What the FiftyOne tests share: a MongoDB server, an isolated database per test, a small store.

* ``mongod`` (session): FiftyOne's bundled ``mongod`` started on 127.0.0.1 at a free port with a
  temporary data folder; its process is killed at the end.
* ``fo_db``: points this process's FiftyOne at a database of its own (a unique
  ``FIFTYONE_DATABASE_NAME`` on that server) and drops it afterwards.
* :func:`make_store`: a small store dataset with everything push shows: two takes x two views of
  H.264 clips, BlazePose landmarks per frame, criteria, scores, repetitions and A/R states.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from gymdata import store
from gymdata.store import now
from tests.conftest import write_video

FO_ENV = {"FIFTYONE_DO_NOT_TRACK": "true", "FIFTYONE_DATABASE_VALIDATION": "false"}
CRITERIA = {"frontal": ["Knees over toes F"], "lateral": ["Hips back L", "Depth L"]}
NUM_FRAMES = 24


def mongod_binary() -> Path:
    """FiftyOne's bundled mongod (found without importing fiftyone)."""
    spec = importlib.util.find_spec("fiftyone")
    if spec is None or not spec.origin:
        pytest.skip("fiftyone is not installed")
    path = Path(spec.origin).parent / "db" / "bin" / "mongod"
    if not path.is_file():
        pytest.skip(f"no mongod at {path}")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


def kill_tree(proc: subprocess.Popen) -> None:
    """Kill a process started with ``start_new_session=True`` and everything in its session."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def mongod(tmp_path_factory):
    """A MongoDB server on 127.0.0.1 for the session: yields its URI."""
    data = tmp_path_factory.mktemp("mongod")
    port = free_port()
    proc = subprocess.Popen([str(mongod_binary()), "--dbpath", str(data), "--bind_ip", "127.0.0.1", "--port",
                             str(port), "--quiet", "--logpath", str(data / "mongod.log")],
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield f"mongodb://127.0.0.1:{port}"
    finally:
        kill_tree(proc)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def fo_db(mongod, monkeypatch):
    """This process's FiftyOne on a fresh database of the test server; yields the ``fiftyone`` module."""
    name = f"gymdata-test-{uuid.uuid4().hex[:10]}"
    for key, value in {**FO_ENV, "FIFTYONE_DATABASE_URI": mongod, "FIFTYONE_DATABASE_NAME": name}.items():
        monkeypatch.setenv(key, value)
    import fiftyone as fo
    import fiftyone.core.odm.database as fodb

    fodb._disconnect()  # FiftyOne binds one database per connection: reconnect to this test's
    fo.config.database_uri, fo.config.database_name = mongod, name
    yield fo
    fodb.get_db_client().drop_database(name)
    fodb._disconnect()


#: A standing person in BlazePose's 33 landmarks (x, y image-normalised), facing the camera.
_STANDING = {0: (0.50, 0.16), 1: (0.49, 0.15), 2: (0.485, 0.15), 3: (0.48, 0.15), 4: (0.51, 0.15), 5: (0.515, 0.15),
             6: (0.52, 0.15), 7: (0.47, 0.16), 8: (0.53, 0.16), 9: (0.49, 0.18), 10: (0.51, 0.18), 11: (0.44, 0.26),
             12: (0.56, 0.26), 13: (0.42, 0.38), 14: (0.58, 0.38), 15: (0.41, 0.49), 16: (0.59, 0.49),
             17: (0.405, 0.51), 18: (0.595, 0.51), 19: (0.41, 0.515), 20: (0.59, 0.515), 21: (0.415, 0.505),
             22: (0.585, 0.505), 23: (0.46, 0.52), 24: (0.54, 0.52), 25: (0.46, 0.69), 26: (0.54, 0.69),
             27: (0.46, 0.86), 28: (0.54, 0.86), 29: (0.455, 0.88), 30: (0.545, 0.88), 31: (0.47, 0.9),
             32: (0.53, 0.9)}


def squat_landmarks(frames: int, period: float = 12.0) -> np.ndarray:
    """(frames, 33, 4) landmarks of a person squatting with the given period (visibility 0.9)."""
    base = np.array([_STANDING[i] for i in range(33)], np.float32)
    depth = 0.5 * (1 - np.cos(2 * np.pi * np.arange(frames) / period))  # 0 standing .. 1 bottom
    lm = np.zeros((frames, 33, 4), np.float32)
    lm[..., :2] = base
    upper = np.arange(33) < 25  # everything above the knees drops; knees move forward and out
    lm[:, upper, 1] += 0.14 * depth[:, None]
    lm[:, 25, 0] -= 0.04 * depth
    lm[:, 26, 0] += 0.04 * depth
    lm[:, 25:27, 1] += 0.03 * depth[:, None]
    lm[..., 3] = 0.9
    return lm


def make_store(root: Path, name: str = "clips", *, takes: int = 2, frames: int = NUM_FRAMES,
               with_labels: bool = True, lateral: tuple[int, int, int] | None = None) -> store.Dataset:
    """A store dataset of ``takes`` squat takes x (frontal, lateral) H.264 clips, with poses and labels.

    ``lateral`` = (width, height, frames) gives the lateral clips another size and length (default:
    64 x 48 and ``frames``, as the frontal ones).
    """
    media = root / f"{name}-media"
    rng = np.random.default_rng(0)
    videos, poses, criteria, scores, segments = [], [], [], [], []
    stamp = now()
    label = {"origin": "imported", "annotator": "test:1", "created_at": stamp}
    for take in range(takes):
        for view in ("frontal", "lateral"):
            vid = f"s{take}_{view}"
            width, height, n = lateral if lateral and view == "lateral" else (64, 48, frames)
            write_video(media / f"{vid}.mp4", frames=n, size=(width, height), fps=25.0)
            videos.append({"video_id": vid, "corpus": "videos", "path": f"{vid}.mp4", "media_kind": "video",
                           "exercise": "squat", "exercise_raw": "squat", "subject": f"p{take}",
                           "recording": f"take{take}", "view": view, "fps": 25.0, "num_frames": n,
                           "width": width, "height": height, "duration": n / 25.0, "extras": "{}"})
            lm = squat_landmarks(n) + rng.normal(0, 0.003, (n, 33, 4)).astype(np.float32)
            lm[..., 3] = 0.9
            for f in range(n):
                poses.append({"video_id": vid, "frame": f, "layout": "blazepose33", "landmarks": lm[f].ravel().tolist(),
                              "detected": f != 3, "source": "test"})
            if not with_labels:
                continue
            for crit in CRITERIA[view]:
                criteria.append({"video_id": vid, "criterion": crit, "view": view, "value": 1.0, "passed": True,
                                 **label})
            scores.append({"video_id": vid, "name": "quality", "value": 60.0 + take, "scale_min": 0.0,
                           "scale_max": 100.0, **label})
            segments += [{"video_id": vid, "kind": "repetition", "label": "rep", "start_frame": 2, "end_frame": 10,
                          **label},
                         {"video_id": vid, "kind": "repetition", "label": "rep", "start_frame": 12, "end_frame": 20,
                          **label},
                         {"video_id": vid, "kind": "state", "label": "A", "start_frame": 4, "end_frame": 8, **label}]
    with store.building(name) as ds:
        with ds.transaction() as txn:
            txn.write("videos", videos)
            txn.write("poses", poses)
            for table, rows in (("criteria", criteria), ("scores", scores), ("segments", segments)):
                if rows:
                    txn.write(table, rows)
            txn.set_source("videos", root=str(media), importer="test", version="1")
    return store.open_dataset(name)


# -- the App in a real browser (shared by the browser tests) ---------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("GYMDATA_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts"))
#: Seconds the App may take to answer after ``gymdata app`` starts (a first push, a busy 2-core machine).
APP_START_TIMEOUT = float(os.environ.get("GYMDATA_APP_START_TIMEOUT", "420"))
#: ``GYMDATA_BROWSER_REPEAT=10`` runs every browser test ten times in one pytest run (flakiness checks).
BROWSER_REPEAT = max(1, int(os.environ.get("GYMDATA_BROWSER_REPEAT", "1") or 1))
repeat_browser = pytest.mark.parametrize("browser_round", range(BROWSER_REPEAT),
                                         ids=[f"round{i}" for i in range(BROWSER_REPEAT)])


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


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = APP_START_TIMEOUT) -> None:
    """Wait until ``url`` answers and ``gymdata app`` has printed its address (it does once its App
    server listens); fail with the App's log if it exits or never gets there."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gymdata app exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if "App on " in log.read_text():
                with urllib.request.urlopen(url, timeout=5):
                    return
        except OSError:
            pass
        time.sleep(1)
    pytest.fail(f"the App did not answer at {url} within {timeout:.0f}s:\n{log.read_text()[-3000:]}")


class App:
    """One ``gymdata app`` process (its own port and FiftyOne dataset): ``url``, ``log``, ``dataset_url``."""

    def __init__(self, url: str, fo_name: str, log: Path, proc: subprocess.Popen):
        self.url, self.fo_name, self.log, self.proc = url, fo_name, log, proc

    @property
    def dataset_url(self) -> str:
        return f"{self.url}/datasets/{self.fo_name}"

    def log_tail(self, n: int = 2000) -> str:
        return self.log.read_text()[-n:] if self.log.is_file() else "(none)"


@contextlib.contextmanager
def run_app(tmp_path: Path, mongod: str, name: str = "clips", *, fo_name: str | None = None,
            annotator: str = "default-user", args: tuple[str, ...] = ()):
    """Serve ``gymdata app NAME`` on a free port against the test database; yields an :class:`App`.

    The App runs as its own process tree and is stopped (with everything it started) on exit.
    """
    import sys

    port = free_port()
    env = {**os.environ, **FO_ENV, "FIFTYONE_DATABASE_NAME": os.environ["FIFTYONE_DATABASE_NAME"],
           "GYMDATA_HOME": str(store.home())}
    log = tmp_path / f"app-{port}.log"
    cmd = [sys.executable, "-m", "gymdata.cli", "app", name, "--port", str(port), "--database-uri", mongod,
           "--plugins-dir", str(tmp_path / "plugins"), "--annotator", annotator, *args]
    if fo_name:
        cmd += ["--fo-name", fo_name]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/", proc, log)
        yield App(url, fo_name or name, log, proc)
    finally:
        stop_tree(proc)


@contextlib.contextmanager
def chromium():
    """Headless Debian Chromium through Playwright (skips when either is missing); yields the browser."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
            "--disable-backgrounding-occluded-windows"])
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, *, width: int = 1600, height: int = 1000):
    """A page with generous timeouts that dismisses FiftyOne's pop-ups and records errors in ``page.gym_log``."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(90_000)
    log: list[str] = []
    page.gym_log = log  # type: ignore[attr-defined]
    start = time.monotonic()

    def note(text: str) -> None:
        log.append(f"{time.monotonic() - start:.1f}s {text}")

    page.gym_note = note  # type: ignore[attr-defined]
    page.add_init_script(_WATCH_JS)
    page.on("console", lambda m: note(f"{m.type}: {m.text[:200]}") if m.type in ("error", "warning") else None)
    page.on("response", lambda r: note(f"{r.status} {r.url.split('/', 3)[-1][:80]}") if r.status >= 400 else None)
    # what moved the App: its address (the modal's sample is in it) and the state events it sent the server
    page.on("framenavigated", lambda f: note(f"url {f.url.split('/', 3)[-1][:120]}")
            if f == page.main_frame else None)
    page.on("request", lambda r: note(_post_name(r)) if r.method == "POST" and (
        not r.url.endswith("/graphql") or "mutation" in (r.post_data or "")[:200]) else None)
    # FiftyOne's "Explore Enterprise" pop-up can come up at any moment and take the next click
    page.add_locator_handler(page.get_by_role("button", name="Dismiss"),
                             lambda button: button.dispatch_event("click"), no_wait_after=True)
    return page


# Kept in the page from its first script: when the address changed (and how), and when the modal
# came and went; fail_with_artifacts prints it (what moved the App when a modal closed by itself).
_WATCH_JS = """
(() => {
  const t0 = performance.now(), log = (window.__gymWatch = []);
  const note = (what) => log.push(((performance.now() - t0) / 1000).toFixed(1) + 's ' + what);
  for (const name of ['pushState', 'replaceState']) {
    const orig = history[name];
    history[name] = function (state, title, url) {
      note(name + ' ' + String(url || '').split('/').slice(-1)[0].slice(0, 90));
      return orig.apply(this, arguments);
    };
  }
  addEventListener('popstate', () => note('popstate ' + location.search.slice(0, 90)));
  const what = (el) => el && el.closest ? ((el.closest('[data-cy]') || {}).dataset || {}).cy || el.tagName : '?';
  addEventListener('click', (e) => note('click ' + what(e.target) + ' at ' + e.clientX + ',' + e.clientY), true);
  addEventListener('keydown', (e) => e.repeat || note('key ' + e.key + ' on ' + what(e.target)), true);
  let shown = false;
  new MutationObserver(() => {
    const now = !!document.querySelector('[data-cy=modal]');
    if (now !== shown) { shown = now; note(now ? 'modal shown' : 'modal gone'); }
  }).observe(document, {childList: true, subtree: true});
})();
"""


def _post_name(request) -> str:
    """What the App posted: the route, and the GraphQL operation, state event or operator it names."""
    import json

    route = request.url.split("/", 3)[-1].split("?")[0]
    try:
        body = json.loads(request.post_data or "{}")
    except (ValueError, UnicodeDecodeError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    what = body.get("operationName") or body.get("event") or body.get("operator_uri") or ""
    variables = body.get("variables") if route == "graphql" else body.get("data")
    return f"POST {route} {what} {json.dumps(variables)[:90] if variables else ''}".rstrip()


def open_modal(page, app: App, *, query: str = "", timeout: float = 240.0) -> None:
    """Load the dataset's grid and open its first sample in the modal by clicking it.

    The App server remembers the sample its modal showed: after a reload the App may reopen that
    sample by itself while the grid lays out (its modal then takes the grid's click, and a modal
    not opened from the grid has no next/previous buttons). Such a modal is closed (Escape, or a
    click beside it) and the grid clicked again; clicks the grid loses while it lays out are retried;
    the sample's URL is the last resort."""
    from playwright.sync_api import TimeoutError as PwTimeout

    page.goto(app.dataset_url + query, wait_until="domcontentloaded")
    tile = page.locator('[data-cy="fo-grid"] [data-cy="looker"]').first
    modal = page.locator('[data-cy="modal"]')
    first = _sample_url(app, query).rsplit("?", 1)[1].split("&")[-1]  # groupId=... or id=...
    tile.or_(modal).first.wait_for(timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    clicks, clicked = 0, False  # grid clicks tried; whether the modal shown was opened by one
    while time.monotonic() < deadline:
        if modal.is_visible():
            if clicked and first in page.url:
                return
            page.gym_log.append(f"closing a modal the grid did not open ({page.url.split('?', 1)[-1]})")
            try:
                page.keyboard.press("Escape")  # the App's player closes the modal on Escape
                modal.wait_for(state="hidden", timeout=5_000)
            except PwTimeout:  # a panel in the player's place: a click beside the modal closes it
                page.mouse.click(8, page.viewport_size["height"] // 2)
                try:
                    modal.wait_for(state="hidden", timeout=10_000)
                except PwTimeout:
                    break
            clicked = False
            continue
        if clicks >= 4:
            break
        clicks += 1
        try:
            tile.click(timeout=15_000)
            clicked = True
            modal.wait_for(timeout=30_000)
            page.wait_for_function("(p) => location.search.includes(p)", arg=first, timeout=10_000)
        except PwTimeout:  # lost while the grid laid out, or taken by a modal opening by itself
            page.gym_log.append(f"modal not open on the first sample after click {clicks}")
    page.gym_log.append("opening the first sample by its URL")
    page.goto(_sample_url(app, query), wait_until="domcontentloaded")
    modal.wait_for(timeout=60_000)


def _sample_url(app: App, query: str = "") -> str:
    """The App's URL of the dataset's first sample (its group in a grouped dataset): the modal opens on it."""
    import fiftyone as fo

    first = fo.load_dataset(app.fo_name).first()
    group = first.get_field("group") if first.has_field("group") else None
    param = f"groupId={group.id}" if group is not None else f"id={first.id}"
    return f"{app.dataset_url}{query}{'&' if query else '?'}{param}"


# the Gym keys panel has loaded the clip it shows and no call of it is in flight
KEYS_IDLE = ("() => { const p = document.querySelector('[data-cy=gym-keys]'); const t = "
             "document.querySelector('[data-cy=gym-title]'); return p && p.dataset.busy === '0' && t && "
             "t.innerText !== 'loading...'; }")


def open_panel(page, panel: str = "gym_labels", *, timeout: float = 240.0):
    """Open a plugin panel in the modal and wait until it shows the open sample; returns its locator.

    A panel loaded before the App set its current sample (or right after a reload) shows "Open a clip"
    and gets no later event: then another tab is shown and this one again, which loads it anew.
    """
    from playwright.sync_api import TimeoutError as PwTimeout

    content = page.locator(f'[data-cy="panel-content-{panel}"]')
    tab = page.locator(f'[data-cy="panel-tab-{panel}"]')
    title = content.locator("h4").first
    deadline = time.monotonic() + timeout
    while True:
        tab.click(timeout=max(1_000, int((deadline - time.monotonic()) * 1000)))
        try:
            content.get_by_text("Open a clip").or_(title).first.wait_for(timeout=30_000)
        except PwTimeout:
            pass
        if title.is_visible():
            return content
        page.gym_log.append(f"panel {panel} not showing the sample after clicking its tab")
        if time.monotonic() > deadline:
            raise PwTimeout(f"the {panel} panel never showed the open sample")
        page.locator('[data-cy="panel-tab-fo-sample-modal-plugin"]').click()


def show_player_beside(page):
    """With a panel open in the modal, show the App's player beside it: split the modal when it has one
    pane (neither the player nor the Gym keys panel shows), then pick the player's tab where the new
    pane shows another one. Returns the player's locator."""
    player = page.locator('[data-cy="panel-content-fo-sample-modal-plugin"]')
    if not (player.is_visible() or page.locator('[data-cy="gym-keys"]').is_visible()):
        page.locator('button[title="Split horizontally"]').first.click()
        page.wait_for_timeout(500)
    if not player.is_visible():
        page.locator('[data-cy="panel-tab-fo-sample-modal-plugin"]').first.click()
    player.wait_for()
    return player


def fail_with_artifacts(page, app: App | None, name: str, exc: BaseException) -> None:
    """Keep a screenshot and fail with what the browser and the App server said."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{name}_failed.png"
    try:
        page.screenshot(path=str(shot))
    except Exception as err:  # noqa: BLE001 - the page may be gone; the message matters more
        shot = f"(no screenshot: {err})"
    try:
        watched = page.evaluate("() => (window.__gymWatch || []).slice(-25).join('; ')")
    except Exception as err:  # noqa: BLE001 - the page may be gone
        watched = f"(page gone: {err})"
    lines = str(exc).splitlines()
    waited = next((line.strip() for line in lines if "waiting for locator" in line), "")  # what it waited for
    pytest.fail(f"{lines[0] if lines else type(exc).__name__} {waited}\n"
                f"browser: {'; '.join(page.gym_log[-40:])}\nin the page (at {page.url}): {watched}\n"
                f"screenshot {shot}\n"
                f"App log:\n{app.log_tail() if app else '(none)'}")
