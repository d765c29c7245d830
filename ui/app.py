"""Streamlit entry point: `guideline ui` (or `streamlit run ui/app.py`).

Three pages: the chat (home), the admin page (documents, uploads, re-ingest,
versions) and the evaluation page. Pages stay thin over assistant/ingest/evals.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Offline model loading, no telemetry: the same defaults the CLI sets.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# `streamlit run ui/app.py` puts ui/ on sys.path; the packages live one level up.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from core.errors import AssistantError  # noqa: E402
from ui import resources  # noqa: E402

_HERE = Path(__file__).resolve().parent


def _icon():
    """A small drawn favicon: a named Material icon would be fetched from a font CDN."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((2, 2, 61, 61), radius=14, fill=(21, 101, 122, 255))
    d.rectangle((26, 12, 37, 51), fill="white")
    d.rectangle((12, 26, 51, 37), fill="white")
    return img


# Layout is each page's choice: the chat is centred for reading, admin and evaluation are wide.
st.set_page_config(page_title="Guideline assistant", page_icon=_icon(), initial_sidebar_state="expanded")

try:
    resources.settings()
except AssistantError as e:
    st.title("Guideline assistant")
    st.error(str(e))
    st.stop()

pages = [
    st.Page(str(_HERE / "chat.py"), title="Chat", icon=":material/chat:", default=True),
    st.Page(str(_HERE / "admin.py"), title="Admin", icon=":material/admin_panel_settings:",
            url_path="admin"),
    st.Page(str(_HERE / "evaluation.py"), title="Evaluation", icon=":material/fact_check:",
            url_path="evaluation"),
]
st.navigation(pages).run()
