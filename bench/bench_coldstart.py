"""Cold start and peak memory: ``guideline ask`` (process start to printed answer) and the UI.

    bench/bench_coldstart.py [--runs 3]

``guideline ask`` runs as a fresh process against an index of the shipped corpus
(built once beforehand); wall time and peak RSS come from ``wait4``. The UI figure
is ``guideline ui`` from spawn until ``/_stcore/health`` answers, and, when
Chromium is installed, until the first answer with its sources is on screen:
Chromium (started beforehand, not timed) opens the page as soon as the server
answers, asks the question and waits for the answer's first source expander.
Peak RSS of the Streamlit server is read after that answer. "Cold" means a new
process; the OS file cache is warm, as on a machine that has run the product before.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CACHE, OUT, ROOT, VENV_BIN, free_port, log, machine, prepare_query_model, reset_dir, stop, wait_http,
    write_result,
)

QUESTION = "What is the first-line treatment for spasticity-related back pain in MS?"


def _env(root: Path) -> dict:
    return {**os.environ, "GUIDELINE_DATA_DIR": str(root / "data"),
            "GUIDELINE_CORPUS_DIR": str(root / "corpus"), "HOME": str(root / "home")}


def timed_process(cmd: list[str], env: dict, out: Path) -> tuple[float, int, int]:
    """(wall seconds, exit code, peak RSS in MiB) of one child process."""
    with open(out, "wb") as f:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, stdout=f, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, p.returncode, round(ru.ru_maxrss / 1024)


def _children(pid: int) -> list[int]:
    try:
        txt = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in txt.split()]


def _peak_rss_mib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        return None
    return None


CHROMIUM = "/usr/bin/chromium"


def _first_answer(browser, url: str) -> None:
    """Open the chat, ask QUESTION, return once the answer's first source is visible."""
    page = browser.new_page()
    try:
        page.goto(url)
        box = page.get_by_test_id("stChatInput").locator("textarea")
        box.wait_for(timeout=120_000)
        box.fill(QUESTION)
        box.press("Enter")
        bot = page.get_by_test_id("stChatMessage").filter(
            has=page.get_by_test_id("stChatMessageAvatarAssistant")).first
        bot.get_by_test_id("stExpander").first.wait_for(timeout=240_000)
    finally:
        page.close()


def ui_start(root: Path, browser=None) -> dict:
    port = free_port()
    t0 = time.perf_counter()
    log_path = OUT / "logs" / "ui-start.log"
    answer_s = None
    with open(log_path, "wb") as f:
        p = subprocess.Popen([str(VENV_BIN / "guideline"), "ui", "--port", str(port)], env=_env(root),
                             stdout=f, stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}/_stcore/health", 120, p)
            health_s = time.perf_counter() - t0
            if browser is not None:
                _first_answer(browser, f"http://127.0.0.1:{port}")
                answer_s = round(time.perf_counter() - t0, 2)
            kids = _children(p.pid)
            rss = {"cli": _peak_rss_mib(p.pid), "streamlit": max((_peak_rss_mib(k) or 0) for k in kids)
                   if kids else None}
        finally:
            for k in _children(p.pid):  # the Streamlit server `guideline ui` started
                try:
                    os.kill(k, 15)
                except ProcessLookupError:
                    pass
            stop(p)
    return {"health_s": round(health_s, 2), "first_answer_s": answer_s, "peak_rss_mib": rss}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)

    root = CACHE / "coldstart"
    reset_dir(root)
    shutil.copytree(ROOT / "corpus", root / "corpus")
    (root / "home").mkdir()
    (OUT / "logs").mkdir(parents=True, exist_ok=True)
    prepare_query_model()  # as after the first `guideline ingest` on a machine
    wall, code, _ = timed_process([str(VENV_BIN / "guideline"), "ingest"], _env(root), OUT / "logs" / "cold-ingest.log")
    if code != 0:
        raise SystemExit(f"ingest failed: {(OUT / 'logs' / 'cold-ingest.log').read_text()[-1500:]}")

    asks, answers_ms = [], []
    ask_log = OUT / "logs" / "cold-ask.json"
    for i in range(args.runs):
        wall, code, rss = timed_process([str(VENV_BIN / "guideline"), "ask", "--json", QUESTION],
                                        _env(root), ask_log)
        if code != 0:
            raise SystemExit(f"guideline ask failed: {ask_log.read_text()[-1500:]}")
        text = ask_log.read_text(encoding="utf-8")
        try:
            ans = json.loads(text[text.index("{"):])
        except ValueError:
            ans = {}
        answers_ms.append(ans.get("timings_ms", {}).get("total"))
        asks.append({"wall_s": round(wall, 2), "peak_rss_mib": rss,
                     "citations": len(ans.get("citations", [])), "answer_chars": len(ans.get("answer", ""))})
        log(f"ask run {i + 1}: {wall:.2f} s, peak RSS {rss} MiB")

    # Import cost alone: the floor under any cold start.
    imp, _, imp_rss = timed_process([sys.executable, "-c", "import assistant.pipeline, ui.cli"], _env(root),
                                    OUT / "logs" / "cold-import.log")
    uis = []
    pw = browser = None
    if Path(CHROMIUM).exists():
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
    else:
        log(f"{CHROMIUM} not installed: UI first-answer time not measured (`make browser` installs it)")
    try:
        for i in range(args.runs):
            uis.append(ui_start(root, browser))
            log(f"ui run {i + 1}: health after {uis[-1]['health_s']} s, first answer after "
                f"{uis[-1]['first_answer_s']} s, RSS {uis[-1]['peak_rss_mib']}")
    finally:
        if browser is not None:
            browser.close()
            pw.stop()

    def s(xs):
        xs = [x for x in xs if x is not None]
        return {"median": round(statistics.median(xs), 2), "min": min(xs), "max": max(xs)} if xs else None

    out = {
        "question": QUESTION,
        "ask_wall_s": s([a["wall_s"] for a in asks]), "ask_peak_rss_mib": s([a["peak_rss_mib"] for a in asks]),
        "ask_answer_ms_inside": s(answers_ms), "ask_runs": asks,
        "bare_import_s": round(imp, 2),
        "ui_health_s": s([u["health_s"] for u in uis]),
        "ui_first_answer_s": s([u["first_answer_s"] for u in uis]),
        "ui_peak_rss_mib": s([u["peak_rss_mib"]["streamlit"] for u in uis]),
        "ui_runs": uis,
        "command": "bench/bench_coldstart.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
    }
    write_result("coldstart", out)
    print(json.dumps({k: out[k] for k in ("ask_wall_s", "ask_peak_rss_mib", "ui_health_s", "ui_first_answer_s",
                                              "ui_peak_rss_mib")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
