"""Evaluation: run a test set through the chat's own pipeline, read metrics, compare runs."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.errors import AssistantError
from core.settings import PROJECT_ROOT
from evals.metrics import HEADLINE, LOWER_IS_BETTER, fmt, kind_of
from evals.report import REPORT, load_run
from evals.schema import EvalSetError, Expect, parse_lines, parse_lines_numbered
from ui import actions, jobs, resources, views

SETS_DIR = PROJECT_ROOT / "evals" / "sets"
CARDS = {  # headline metric -> short card label (the full label is the card's help text)
    "pass_rate": "Cases passed",
    "fact_coverage": "Facts stated",
    "citation_validity": "Valid citations",
    "red_flag_recall": "Red flags escalated",
    "red_flag_false_alarm_rate": "False alarms",
    "opioid_violations": "Opioid-rule violations",
    "out_of_scope_accuracy": "Scope decisions right",
    "latency_p50_ms": "Median answer time",
}

state = st.session_state
settings = resources.settings()
st.set_page_config(layout="wide")  # tables need the width; the chat stays centred

st.title("Evaluation")
st.caption("Each case is sent to the same answer pipeline the chat uses and checked against what it "
           "expects: required facts, red-flag escalation, the opioid rule, out-of-scope refusals and "
           "valid citations. Runs are saved and compared with the previous run of the same set.")

# ---------------------------------------------------------------- choose a set
shipped = sorted(SETS_DIR.glob("*.jsonl")) if SETS_DIR.is_dir() else []
origin = st.radio("Test set", ["Shipped set", "Upload a set"], horizontal=True,
                  index=0 if shipped else 1, label_visibility="collapsed")
set_name, set_bytes = None, None
if origin == "Shipped set":
    if not shipped:
        st.info(f"No test sets found in {SETS_DIR}.")
    else:
        chosen = st.selectbox("Test set", [p.name for p in shipped])
        set_name, set_bytes = chosen, (SETS_DIR / chosen).read_bytes()
else:
    up = st.file_uploader("Test set (.jsonl, one case a line)", type=["jsonl"])
    if up is not None:
        set_name, set_bytes = up.name, up.getvalue()

cases = None
if set_bytes is not None:
    try:
        text = set_bytes.decode("utf-8")
        numbered = parse_lines_numbered(text.splitlines(), path=set_name)
        actions.check_gold_sources(numbered, set_name, settings)  # names the line of a bad gold id
        cases = [c for _, c in numbered]
    except UnicodeDecodeError:
        st.error(f"{set_name}: the file is not UTF-8 text.")
    except EvalSetError as e:
        st.error(str(e))


def _start_run(cases, name: str, data: bytes) -> None:
    assistant = resources.assistant(settings)

    def answer_fn(question, history=(), audience="clinician", settings=None):
        return assistant.answer(question, history, audience)

    def work(job):
        def progress(done: int, total: int, case_id: str) -> None:
            job.progress("cases", done, total, case_id)

        job.progress("cases", 0, len(cases))
        return actions.run_and_save(cases, set_name=name, set_bytes=data, settings=settings,
                                    answer_fn=answer_fn, progress=progress)

    job, started = jobs.board().start("evaluation", jobs.settings_key(settings), work)
    state.eval_watch = job.id
    if not started:
        state.eval_notice = "An evaluation is already running; its progress is shown below."


eval_job = jobs.board().latest("evaluation", jobs.settings_key(settings))
busy = eval_job is not None and eval_job.running
if cases:
    counts = views.count_by(cases, lambda c: c.category)
    st.caption(f"{len(cases)} cases · " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    st.button("Run evaluation", type="primary", icon=":material/play_arrow:", disabled=busy,
              on_click=_start_run, args=(cases, set_name, set_bytes))
notice = state.pop("eval_notice", None)
if notice:
    st.info(notice)


@st.fragment(run_every=1.0 if busy else None)
def _eval_status() -> None:
    job = jobs.board().latest("evaluation", jobs.settings_key(settings))
    if job is None:
        return
    if job.running:
        st.progress(job.fraction, text=f"{job.done}/{job.total} · {job.note}" if job.note
                    else f"{job.done}/{job.total}")
        state.eval_watch = job.id
        return
    if state.get("eval_watch") == job.id:
        state.eval_watch = None
        if job.result is not None:
            state.eval_run = job.result.name  # show the run that just finished
        st.rerun()
    if job.error:
        st.error(job.error)


_eval_status()

# ---------------------------------------------------------------- show a run
runs = actions.list_runs(settings)
if not runs:
    st.caption("No evaluation has been run yet.")
    st.stop()

st.divider()
names = [r.name for r in runs]
pick = state.get("eval_run") if state.get("eval_run") in names else names[0]
chosen_run = st.selectbox("Run", names, index=names.index(pick),
                          help="Saved under the data directory, in eval_runs/<time>/")
run_dir = actions.runs_dir(settings) / chosen_run
try:
    summary, results = load_run(run_dir)
except AssistantError as e:
    st.error(str(e))
    st.stop()

m = summary.get("metrics", {})
run = summary.get("run", {})
st.subheader(f"{m.get('passed', 0)} of {m.get('cases', 0)} cases passed")
st.caption(f"Set `{summary.get('set', {}).get('name', '?')}` · started {run.get('started_at', '?')} · "
           f"{run.get('duration_s', '?')} s · corpus version `{run.get('corpus_version') or 'n/a'}` · "
           f"composer {run.get('composer') or 'n/a'}")

comp = summary.get("comparison") or {}
before = {d["metric"]: d for d in comp.get("metrics", [])}
labels = {k: label for k, label, _ in HEADLINE}
cols = st.columns(4)
for i, (key, short) in enumerate(CARDS.items()):
    kind = kind_of(key)
    d = before.get(key)
    delta, colour = None, "inverse" if key in LOWER_IS_BETTER else "normal"
    if d and d.get("delta") is not None:
        delta = (f"{d['delta'] * 100:+.1f} pts" if kind == "rate" else
                 f"{d['delta']:+.0f} ms" if kind == "ms" else f"{d['delta']:+g}")
        if abs(d["delta"]) < 1e-12:
            colour = "off"
    cols[i % 4].metric(short, fmt(m.get(key), kind), delta=delta, delta_color=colour,
                       help=labels.get(key, key))

gates = summary.get("gates", {})
if gates:
    failed = [g for g in gates.get("results", []) if g["status"] == "not met"]
    if failed:
        st.error(f"{len(failed)} regression gate(s) not met: "
                 + ", ".join(labels.get(g["metric"], g["metric"]) for g in failed))
    else:
        st.success("All regression gates met.")

st.markdown("**Pass rate by category**")
chart = views.pass_rate_by_category(summary)
if chart:
    st.bar_chart(pd.DataFrame({"Pass rate (%)": list(chart.values())}, index=list(chart.keys())),
                 y_label="Pass rate (%)", height=260)
st.dataframe(pd.DataFrame(views.category_rows(summary)), hide_index=True, width="stretch")

with st.expander("All metrics and gates"):
    st.dataframe(pd.DataFrame([{"Metric": label, "Value": fmt(m.get(key), kind)}
                               for key, label, kind in HEADLINE]), hide_index=True, width="stretch")
    if gates:
        st.dataframe(pd.DataFrame([{
            "Gate": labels.get(g["metric"], g["metric"]),
            "Threshold": ("≥ " if g["op"] == "min" else "≤ ") + fmt(g["threshold"], kind_of(g["metric"])),
            "Value": fmt(g["value"], kind_of(g["metric"])), "Status": g["status"]}
            for g in gates.get("results", [])]), hide_index=True, width="stretch")

st.markdown("**Compared with the previous run**")
if not comp:
    st.caption("This is the first saved run of this set: nothing to compare with yet.")
else:
    prev = comp.get("previous", {})
    st.caption(f"Previous run `{prev.get('dir', '?')}` (corpus version "
               f"`{prev.get('corpus_version') or 'n/a'}`): {comp.get('newly_failing', 0)} case(s) newly "
               f"failing, {comp.get('newly_passing', 0)} newly passing.")
    st.dataframe(pd.DataFrame([{
        "Metric": labels.get(d["metric"], d["metric"].replace("_", " ")),
        "Before": fmt(d["before"], kind_of(d["metric"])), "Now": fmt(d["after"], kind_of(d["metric"])),
        "": d["verdict"]} for d in comp.get("metrics", [])]), hide_index=True, width="stretch")
    if comp.get("changed"):
        st.dataframe(pd.DataFrame([{"Case": c["id"], "Category": c["category"], "Before": c["before"],
                                    "Now": c["after"], "Why": "; ".join(c.get("reasons", []))}
                                   for c in comp["changed"]]), hide_index=True, width="stretch")

failing = [r for r in results if not r.get("passed")]
st.markdown(f"**Failing cases ({len(failing)})**")
if not failing:
    st.caption("Every case passed.")
for r in failing:
    with st.expander(f"{r['id']} · {r.get('category', '')}"):
        for t in r.get("conversation") or []:
            st.markdown(f"*{t['role']}:* {views.escape_markdown(t['content'])}")
        st.markdown(f"**Question:** {views.escape_markdown(r.get('question', ''))}")
        try:
            expected = Expect.model_validate_json(json.dumps(r.get("expect", {}))).describe()
        except Exception:  # a run saved in an older format: show it raw
            expected = [json.dumps(r.get("expect", {}))]
        st.markdown("**Expected**\n\n" + "\n".join(f"- {views.escape_markdown(x)}" for x in expected))
        st.markdown("**What went wrong**\n\n" + "\n".join(
            f"- {views.escape_markdown(x)}" for x in views.failed_reasons(r)))
        resp = r.get("response")
        if resp:
            st.markdown("**Answer**")
            with st.container(border=True):
                st.markdown(views.safe_answer_markdown(resp.get("answer", "")))
        elif r.get("error"):
            st.error(r["error"])

report = run_dir / REPORT
if report.is_file():
    st.download_button("Download report (Markdown)", report.read_bytes(), file_name=f"eval-{chosen_run}.md",
                       mime="text/markdown", icon=":material/download:")
