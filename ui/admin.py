"""Admin: documents, uploads, re-ingest and corpus versions, behind the admin password."""

from __future__ import annotations

import hmac
import time

import pandas as pd
import streamlit as st

from core.errors import AssistantError, DeletionGuardError, IngestError, IngestLockedError
from ingest.load import SUPPORTED_EXTENSIONS
from ingest.versions import current_version, list_versions, rollback
from ui import actions, admin_panels, admin_review, jobs, resources, views

state = st.session_state
state.setdefault("admin_ok", False)
state.setdefault("admin_failures", 0)
state.setdefault("upload_gen", 0)

settings = resources.settings()
st.set_page_config(layout="wide")  # tables need the width; the chat stays centred
st.title("Admin")

secret = settings.admin_password.get_secret_value() if settings.admin_password else ""
if not secret:
    st.info("Admin is disabled: no admin password is configured. Set `GUIDELINE_ADMIN_PASSWORD` "
            "in the server's environment and restart the app.", icon=":material/lock:")
    st.stop()


# ---------------------------------------------------------------- login
def _login() -> None:
    with st.form("admin-login", clear_on_submit=True):
        pw = st.text_input("Admin password", type="password")
        submitted = st.form_submit_button("Unlock", type="primary")
    if not submitted:
        return
    if hmac.compare_digest(pw.encode("utf-8"), secret.encode("utf-8")):
        state.admin_ok = True
        state.admin_failures = 0
        st.rerun()
    state.admin_failures += 1
    # Each wrong attempt in this browser session waits longer before answering.
    time.sleep(views.login_delay(state.admin_failures))
    st.error("Wrong password.")


if not state.admin_ok:
    st.caption("Manage the guideline corpus: upload files, re-ingest, roll back versions.")
    _login()
    st.stop()


def _lock() -> None:
    state.admin_ok = False


with st.sidebar:
    st.button("Lock admin", on_click=_lock, icon=":material/lock:", width="stretch")

assistant = resources.assistant(settings)

# ---------------------------------------------------------------- documents
st.subheader("Documents")
docs: list[dict] = []
try:
    ix = assistant.searcher.index()
    docs = ix.documents()
    st.caption(f"Serving corpus version `{ix.version}` · {len(docs)} documents · "
               f"{sum(d['chunks'] for d in docs)} passages")
    st.dataframe(
        pd.DataFrame([{"ID": d["doc_id"], "Title": d["title"], "Version": d["version"],
                       "Status": views.STATUS_LABELS.get(d["status"], d["status"]),
                       "Last reviewed": d["last_reviewed"], "Passages": d["chunks"], "File": d["path"]}
                      for d in docs]),
        hide_index=True, width="stretch")
except AssistantError as e:
    st.info(str(e))
pin_msg = admin_panels.pin_message(settings)
if pin_msg:
    st.warning(pin_msg, icon=":material/push_pin:")

# ---------------------------------------------------------------- conflicts
with st.expander("Conflicting guidance across approved documents"):
    try:
        found = admin_panels.corpus_conflicts(settings)
    except AssistantError as e:
        st.error(str(e))
        found = []
    if found:
        st.caption(f"{len(found)} disagreement(s) in the corpus directory: the same drug with different "
                   "numbers, or under contradictory roles. Answers citing both say so; fix the documents.")
        st.dataframe(pd.DataFrame(admin_panels.conflict_rows(found)), hide_index=True, width="stretch")
    else:
        st.caption("No conflicting statements found among the approved documents.")

# ---------------------------------------------------------------- upload
def _save_uploads(plans) -> None:
    try:
        for p in plans:
            actions.save_upload(p, settings)
    except (AssistantError, OSError) as e:
        state.upload_error = f"Saving failed: {e}"
        return
    state.upload_gen += 1  # a fresh uploader: the saved files are not offered again
    state.upload_msg = f"Saved {', '.join(p.name for p in plans)} to the corpus. Re-ingest to serve them."


st.subheader("Upload guideline files")
st.caption(f"{', '.join(SUPPORTED_EXTENSIONS)} files as published: metadata the file does not give is "
           "derived for you to confirm below (see `corpus/README.md`). Each file is checked and parsed "
           "before it is saved; nothing is served until you re-ingest.")
msg = state.pop("upload_msg", None)
if msg:
    st.success(msg)
msg = state.pop("upload_error", None)
if msg:
    st.error(msg)
files = st.file_uploader("Guideline files", type=[e.lstrip(".") for e in SUPPORTED_EXTENSIONS],
                         accept_multiple_files=True, key=f"upload-{state.upload_gen}")
if files:
    plans = [actions.plan_upload(f.name, f.getvalue(), settings, docs) for f in files]
    admin_review.render(plans, files, settings)  # derived metadata to confirm, and the parse
    st.dataframe(pd.DataFrame([{"File": p.name, "Document": p.doc_id, "Version": p.version,
                                "Action": views.upload_action_text(p)} for p in plans]),
                 hide_index=True, width="stretch")
    for p in plans:
        if p.action == "refused":
            st.error(f"{p.name}: {p.reason}")
    savable = [p for p in plans if p.savable]
    if savable:
        n_new = sum(p.action == "new" for p in savable)
        n_upd = len(savable) - n_new
        st.button(f"Save to corpus ({n_new} new, {n_upd} replacing)", type="primary",
                  icon=":material/upload_file:", on_click=_save_uploads, args=(savable,))

# ---------------------------------------------------------------- re-ingest
def _ingest_error(e: AssistantError) -> tuple[str, list]:
    if isinstance(e, DeletionGuardError):
        return str(e).split(" Check that")[0], admin_panels.deletion_details(e)
    if isinstance(e, IngestError) and not isinstance(e, IngestLockedError):
        return str(e).splitlines()[0], [(fe.path, fe.reason) for fe in e.errors]
    return str(e), []


def _start_ingest(allow_deletions: bool = False) -> None:
    # A button callback runs first thing in the next page run, before anything can interrupt it.
    from ingest.index import run_ingest

    full_rebuild = bool(state.get("ingest_full"))

    def work(job):
        # The new version's sentence vectors are stored when a process first serves it
        # (Assistant.warm): a second Assistant built inside the page's process would open the
        # same embedded store again.
        return run_ingest(settings, full=full_rebuild, progress=job.progress,
                          allow_deletions=allow_deletions)

    job, started = jobs.board().start("ingest", jobs.settings_key(settings), work, _ingest_error)
    state.ingest_watch = job.id
    if not started:
        state.ingest_notice = "A re-ingest is already running; its progress is shown below."


def _show_ingest(job) -> None:
    if job.error is None:
        r = job.result
        if r.switched:
            was = f" (was `{r.previous_version}`)" if r.previous_version else ""
            again = " again: the corpus equals this kept version, no new version was built" if r.restored else ""
            st.success(f"Corpus version `{r.corpus_version}` is now serving{again}{was}. "
                       f"Embedded {r.embedded} passages in {r.seconds:.1f} s."
                       + (" The rollback pin is removed." if r.unpinned else ""))
        else:
            st.info(f"No changes: corpus version `{r.corpus_version}` keeps serving.")
        st.dataframe(pd.DataFrame(views.ingest_counts_rows(r)), hide_index=True, width="stretch")
        if r.doc_changes:
            st.markdown("\n".join(f"- `{did}`: {what}" for did, what in sorted(r.doc_changes.items())))
        for w in r.warnings:
            st.warning(w)
        if r.conflicts:
            st.warning(f"{len(r.conflicts)} conflicting statement(s) across approved documents; "
                       "see 'Conflicting guidance' above.")
        return
    st.error(job.error)
    if admin_panels.is_deletion_stop(job.details):
        st.dataframe(pd.DataFrame([{"Document": p, "Problem": why} for p, why in job.details]),
                     hide_index=True, width="stretch")
        st.button(f"Delete these {len(job.details)} documents and re-ingest", type="primary",
                  icon=":material/delete_forever:", on_click=_start_ingest, kwargs={"allow_deletions": True})
        return
    if job.details:
        st.dataframe(pd.DataFrame([{"File": p, "Problem": why} for p, why in job.details]),
                     hide_index=True, width="stretch")
    serving = current_version(settings)
    if serving:
        st.info(f"Nothing was changed: corpus version `{serving}` keeps serving.")


st.subheader("Re-ingest")
st.caption("Builds a new corpus version from the corpus directory; unchanged passages keep their "
           "stored vectors. If any file fails, nothing changes and the current version keeps serving.")
ingest_job = jobs.board().latest("ingest", jobs.settings_key(settings))
busy = ingest_job is not None and ingest_job.running
st.checkbox("Full rebuild (re-embed every passage)", key="ingest_full", disabled=busy)
st.button("Re-ingest now", type="primary", icon=":material/sync:", disabled=busy, on_click=_start_ingest)
notice = state.pop("ingest_notice", None)
if notice:
    st.info(notice)


@st.fragment(run_every=1.0 if busy else None)
def _ingest_status() -> None:
    job = jobs.board().latest("ingest", jobs.settings_key(settings))
    if job is None:
        return
    if job.running:
        label = views.INGEST_STAGES.get(job.stage, job.stage or "Starting")
        st.progress(job.fraction, text=f"{label} ({job.done}/{job.total})" if job.total else f"{label}…")
        state.ingest_watch = job.id
        return
    if state.get("ingest_watch") == job.id:
        # Finished while this page watched: redraw everything from the version now serving.
        state.ingest_watch = None
        st.rerun()
    st.caption(f"Last re-ingest finished at {time.strftime('%H:%M:%S', time.localtime(job.finished))}.")
    _show_ingest(job)


_ingest_status()

# ---------------------------------------------------------------- versions
def _rollback() -> None:
    target = state.get("rollback_target")
    try:
        rollback(settings, target)
    except AssistantError as e:
        state.rollback_error = str(e)
    else:
        state.rollback_msg = (f"Corpus version `{target}` is now serving, pinned until the next re-ingest. "
                              + (admin_panels.pin_message(settings) or ""))


st.subheader("Corpus versions")
msg = state.pop("rollback_msg", None)
if msg:
    st.success(msg)
msg = state.pop("rollback_error", None)
if msg:
    st.error(msg)
versions = list_versions(settings)
if not versions:
    st.caption("No corpus version has been built yet.")
else:
    st.dataframe(pd.DataFrame(admin_panels.version_rows(settings)), hide_index=True, width="stretch")
    older = [v.version for v in versions if not v.current]
    if older:
        cols = st.columns([3, 1], vertical_alignment="bottom")
        cols[0].selectbox("Serve an earlier version", older, key="rollback_target")
        cols[1].button("Roll back", icon=":material/history:", width="stretch", on_click=_rollback)
    with st.expander("Documents of each version"):
        for v in versions:
            st.caption(f"`{v.version}`" + (" (serving)" if v.current else ""))
            st.dataframe(pd.DataFrame(admin_panels.version_documents(settings, v.version)),
                         hide_index=True, width="stretch")

# ---------------------------------------------------------------- audit
with st.expander("Recent answers and feedback"):
    audit = assistant.audit
    with_evals = st.checkbox("Include evaluation runs", key="audit_with_evals")
    try:
        rows = audit.tail(25, source="all" if with_evals else "real") if audit is not None else []
    except AssistantError as e:
        st.error(str(e))
        rows = []
    if not rows:
        st.caption("The audit log is empty.")
    else:
        st.dataframe(pd.DataFrame(admin_panels.audit_rows(rows)), hide_index=True, width="stretch")
