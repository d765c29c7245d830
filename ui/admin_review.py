"""The admin page's review of uploaded files: derived metadata in a form to confirm or correct
(saved as a ``NAME.meta.yaml`` sidecar with the file), and the parse: sections, tables,
passage counts, warnings."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from core.errors import AssistantError, FileError
from ingest.records import STATUSES
from ui import actions, review


@st.cache_data(show_spinner="Parsing the file…", max_entries=16)
def _preview(name: str, data: bytes, _settings, settings_key: str):
    try:
        return review.preview(name, data, _settings), None
    except FileError as e:
        return None, e.reason


def render(plans, files, settings) -> None:
    """One expander per savable upload."""
    by_name = {f.name: f for f in files}
    for plan in plans:
        if not plan.savable or plan.name not in by_name:
            continue
        pv, err = _preview(plan.name, by_name[plan.name].getvalue(), settings,
                           f"{settings.corpus_dir}|{settings.default_status}")
        with st.expander(f"Review {plan.name}", expanded=len(plans) == 1):
            if err:
                st.error(err)
                continue
            _metadata_form(plan, pv, settings)
            _parse_summary(pv)


def _metadata_form(plan, pv: review.ParsePreview, settings) -> None:
    derived = {f: why for f, why in pv.origin.items() if why.startswith("derived")}
    if derived:
        st.caption("Derived (please confirm): " + "; ".join(f"**{f}** {why[len('derived: '):]}"
                                                            for f, why in derived.items()))
    with st.form(f"meta-{plan.name}"):
        c1, c2 = st.columns(2)
        doc_id = c1.text_input("ID", pv.meta["id"])
        version = c2.text_input("Version", pv.meta["version"])
        title = st.text_input("Title", pv.meta["title"])
        c1, c2 = st.columns(2)
        status = c1.selectbox("Status", STATUSES, index=STATUSES.index(pv.meta["status"]))
        reviewed = c2.date_input("Last reviewed", date.fromisoformat(pv.meta["last_reviewed"]),
                                 max_value=date.today())
        sources = st.text_area("Sources (one per line)", "\n".join(pv.meta["sources"]))
        if pv.extra:
            st.caption("Extra metadata kept as written: " + ", ".join(f"`{k}`" for k in pv.extra))
        go = st.form_submit_button("Save to corpus with this metadata", type="primary")
    if not go:
        return
    edited = {"id": doc_id, "title": title, "version": version, "status": status,
              "last_reviewed": reviewed.isoformat(), "sources": [s for s in sources.splitlines() if s.strip()]}
    # Everything confirmed goes in the sidecar: the document then needs no edits at all.
    try:
        actions.save_upload(plan, settings)
        path = review.save_sidecar(plan.name, edited, settings)
    except (AssistantError, OSError) as e:
        st.error(f"Not saved: {e}")
        return
    st.success(f"Saved {plan.name} and {path.name} to the corpus. Re-ingest to serve it.")


def _parse_summary(pv: review.ParsePreview) -> None:
    kinds = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(pv.kinds.items()))
    st.markdown(f"**Parse:** {pv.passages} passages ({kinds}), {len(pv.sections)} sections, "
                f"{len(pv.tables)} tables.")
    for w in pv.warnings:
        st.warning(w)
    t1, t2, t3 = st.tabs(["Sections", "Tables", "Sample passages"])
    with t1:
        st.dataframe(pd.DataFrame([{"Section": s, "Passages": n} for s, n in pv.sections]),
                     hide_index=True, width="stretch")
    with t2:
        if pv.tables:
            st.dataframe(pd.DataFrame([{"Table": t, "Rows": n} for t, n in pv.tables]),
                         hide_index=True, width="stretch")
        else:
            st.caption("No tables found.")
    with t3:
        for kind, section, text in pv.samples:
            st.caption(f"{kind.replace('_', ' ')} · {section}")
            st.text(text[:600])
