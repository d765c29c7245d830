"""End to end in a real browser: `streamlit run` on a free localhost port against a private
copy of the real index, driven by Playwright in Debian's Chromium.

Chromium must be installed (`make test` installs it). This test fails, loudly, when it is not.
Screenshots are saved into the test's temporary directory.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from uikit import APP, CAUDA_EQUINA, NEW_GUIDELINE, PASSWORD, SEED_QUESTION, copy_index

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
FIRST_ANSWER_MS = 240_000  # the server loads the model and the safety layer on first use
ANSWER_MS = 120_000


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture
def app_server(tmp_path, real_index, top_conftest):
    """The app served by `streamlit run` (the flags `guideline ui` uses) on a free port."""
    settings = copy_index(real_index[0], tmp_path / "app")
    port = top_conftest.free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUIDELINE_")}
    # The session's exported query model (real_index prepared it), as `make run`'s first
    # ingest leaves one: without it the app's re-ingest would export and verify it first.
    env["GUIDELINE_MODEL_DIR"] = os.environ["GUIDELINE_MODEL_DIR"]
    env.update(GUIDELINE_DATA_DIR=str(settings.data_dir), GUIDELINE_CORPUS_DIR=str(settings.corpus_dir),
               GUIDELINE_ADMIN_PASSWORD=PASSWORD, HOME=str(home), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False", TOKENIZERS_PARALLELISM="false")
    log_path = tmp_path / "streamlit.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", APP, "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        top_conftest.wait_http(f"http://127.0.0.1:{port}/_stcore/health", timeout=90)
        yield f"http://127.0.0.1:{port}", settings, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class RunTracker:
    """Follows the app's websocket: which page runs were asked for and which have finished.

    Streamlit shows its "running" indicator only after a delay, so the DOM cannot tell
    whether a run is still going; a click on an element that the current run is about to
    redraw can be lost. The messages can tell: wait for the last requested run to end.
    """

    def __init__(self, page) -> None:
        import time

        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.trace: list[str] = []
        self.requested = 0.0
        self.finished = 0.0
        t0 = time.monotonic()

        def parse(cls, payload):
            m = cls()
            m.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
            return m, m.WhichOneof("type")

        def on_ws(ws):
            def sent(payload):
                m, kind = parse(BackMsg, payload)
                if kind == "rerun_script":
                    self.requested = time.monotonic()
                    triggers = [w.id[-12:] for w in m.rerun_script.widget_states.widgets
                                if w.WhichOneof("value") == "trigger_value"]
                    self.trace.append(f"{self.requested - t0:7.2f} sent rerun_script {triggers or ''}")

            def received(payload):
                _, kind = parse(ForwardMsg, payload)
                if kind == "script_finished":
                    self.finished = time.monotonic()
                if kind in ("new_session", "script_finished"):
                    self.trace.append(f"{time.monotonic() - t0:7.2f} got {kind}")

            ws.on("framesent", sent)
            ws.on("framereceived", received)

        page.on("websocket", on_ws)

    def note(self, text: str) -> None:
        self.trace.append(f"---- {text}")

    def idle(self, page, timeout_ms: int = 180_000) -> None:
        """Wait until the last requested run has finished and nothing new started for 0.5 s."""
        import time

        deadline = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < deadline:
            page.wait_for_timeout(100)
            now = time.monotonic()
            if self.finished >= self.requested and now - max(self.finished, self.requested) > 0.5:
                return
        raise TimeoutError(f"the app kept running for more than {timeout_ms / 1000:.0f} s")


def _shot(page, path: Path, runs: RunTracker, locator=None) -> None:
    runs.idle(page)
    page.wait_for_timeout(500)  # let tables and charts paint
    if locator is not None:
        locator.scroll_into_view_if_needed()
    page.screenshot(path=str(path))


def _chunks(settings) -> list[dict]:
    from ingest.versions import current_version, version_dir

    with open(version_dir(settings, current_version(settings)) / "chunks.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.mark.browser
@pytest.mark.integration
def test_chat_sources_red_flag_banner_and_admin_reingest_in_chromium(app_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, settings, log_path = app_server
    shots = tmp_path / "screenshots"
    shots.mkdir()
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: install Debian chromium (make browser)"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                    env={**os.environ, "HOME": str(tmp_path / "home")})
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            external: list[str] = []  # the UI must work offline: nothing but the app's own server
            runs = RunTracker(page)
            page.on("request", lambda r: external.append(r.url)
                    if not r.url.startswith((url, "data:", "blob:", url.replace("http", "ws"))) else None)
            # 0. a bookmarked page on a fresh server still goes through the app's navigation
            page.goto(url + "/evaluation")
            expect(page.get_by_role("button", name="Run evaluation")).to_be_visible(timeout=60_000)
            expect(page).to_have_title(re.compile("Guideline assistant"))
            nav = page.get_by_test_id("stSidebarNav").inner_text()
            assert all(t in nav for t in ("Chat", "Admin", "Evaluation")), nav
            _shot(page, shots / "00-evaluation.png", runs)

            page.goto(url)
            expect(page).to_have_title("Guideline assistant", timeout=60_000)
            box = page.get_by_test_id("stChatInput").locator("textarea")
            expect(box).to_be_enabled(timeout=FIRST_ANSWER_MS)
            _shot(page, shots / "01-home.png", runs)

            # 1. the seed question: a cited answer whose numbered sources open to the passage
            box.fill(SEED_QUESTION)
            box.press("Enter")
            bot = page.get_by_test_id("stChatMessage").filter(
                has=page.get_by_test_id("stChatMessageAvatarAssistant")).first
            first_source = bot.get_by_test_id("stExpander").first
            expect(first_source).to_be_visible(timeout=FIRST_ANSWER_MS)
            assert re.search(r"\[\d+\]", bot.inner_text()), "the answer has no [n] citation"
            label = _norm(first_source.locator("summary").get_by_test_id("stMarkdownContainer").inner_text())
            m = re.match(r"\[1\] (.+) — (.+)$", label)
            assert m, f"unexpected source label {label!r}"
            first_source.locator("summary").click()
            quote = first_source.locator("blockquote")
            expect(quote).to_be_visible()
            shown = _norm(quote.inner_text())
            title, section = m.group(1), m.group(2)
            candidates = [c for c in _chunks(settings)
                          if c["title"] == title and c["section"].split(" > ")[-1] == section]
            assert candidates, f"no indexed passage titled {title!r} / {section!r}"
            assert shown in {_norm(c["text"]) for c in candidates}, shown[:200]
            expect(first_source).to_contain_text("Version")
            expect(first_source).to_contain_text("last reviewed")
            _shot(page, shots / "02-seed-answer-source-open.png", runs, first_source)

            # 2. a cauda equina vignette: the red banner names the finding above the answer
            runs.idle(page)
            box.fill(CAUDA_EQUINA)
            box.press("Enter")
            second = page.get_by_test_id("stChatMessage").filter(
                has=page.get_by_test_id("stChatMessageAvatarAssistant")).nth(1)
            banner = second.get_by_test_id("stAlertContentError").first
            expect(banner).to_be_visible(timeout=ANSWER_MS)
            expect(banner).to_contain_text("cauda equina")
            expect(banner).to_contain_text("saddle anaesthesia")
            expect(second.get_by_test_id("stExpander").first).to_be_visible(timeout=ANSWER_MS)
            cited = second.get_by_test_id("stMarkdownContainer").filter(has_text=re.compile(r"\[\d+\]")).first
            banner_first = page.evaluate(
                "([a, b]) => !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)",
                [banner.element_handle(), cited.element_handle()])
            assert banner_first, "the banner must sit above the answer"
            _shot(page, shots / "03-red-flag-banner.png", runs, banner)

            # 3. admin: log in, upload a new guideline, re-ingest, read the report
            page.goto(url + "/admin")
            expect(page.get_by_label("Admin password")).to_be_visible(timeout=60_000)
            runs.idle(page)
            page.get_by_label("Admin password").fill(PASSWORD)
            page.get_by_role("button", name="Unlock").click()
            expect(page.get_by_role("button", name="Re-ingest now")).to_be_visible(timeout=60_000)
            _shot(page, shots / "04-admin.png", runs)
            new_file = tmp_path / "ms-fatigue-and-pain.md"
            new_file.write_text(NEW_GUIDELINE, encoding="utf-8")
            page.locator("input[type=file]").first.set_input_files(str(new_file))
            save = page.get_by_role("button", name=re.compile(r"Save to corpus \(1 new, 0 replacing\)"))
            expect(save).to_be_visible(timeout=30_000)
            runs.idle(page)
            runs.note("click Save")
            save.click()
            expect(page.get_by_text("Re-ingest to serve them")).to_be_visible(timeout=30_000)
            assert (settings.corpus_dir / "ms-fatigue-and-pain.md").read_text(encoding="utf-8") == NEW_GUIDELINE
            runs.idle(page)
            runs.note("click Re-ingest now")
            page.get_by_role("button", name="Re-ingest now").click()
            done = page.get_by_text("is now serving")
            expect(done).to_be_visible(timeout=180_000)
            expect(page.get_by_text("ms-fatigue-and-pain: added")).to_be_visible()
            _shot(page, shots / "05-admin-reingest-report.png", runs, done)

            from ingest.versions import current_version, read_manifest

            assert "ms-fatigue-and-pain" in read_manifest(settings, current_version(settings))["documents"]

            assert not external, f"the page requested outside resources: {external[:5]}"
        except Exception as e:
            try:
                page.screenshot(path=str(shots / "failure.png"))
            except Exception:
                pass
            log = log_path.read_text(errors="replace")[-4000:]
            raise AssertionError(f"{type(e).__name__}: {e}\nscreenshots in {shots}; server log tail:\n{log}"
                                 "\nlast app messages:\n" + "\n".join(runs.trace[-40:])) from e
        finally:
            browser.close()
    for name in ("01-home.png", "02-seed-answer-source-open.png", "03-red-flag-banner.png",
                 "04-admin.png", "05-admin-reingest-report.png", "00-evaluation.png"):
        assert (shots / name).stat().st_size > 10_000, name
