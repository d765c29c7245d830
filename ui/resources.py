"""The one place the UI keeps heavy objects: settings and the assistant, once per process.

Keys are derived from the ``GUIDELINE_*`` environment and the settings themselves,
so a process that serves different settings (tests do) never mixes them up.
"""

from __future__ import annotations

import os

import streamlit as st

from core.settings import Settings, load_settings


def _env_key() -> tuple:
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("GUIDELINE_")))


@st.cache_resource(show_spinner=False)
def _settings(env_key: tuple) -> Settings:
    return load_settings()


def settings() -> Settings:
    """Settings from the environment (a ConfigError is not cached: fix the env, reload)."""
    return _settings(_env_key())


def _settings_key(s: Settings) -> str:
    return s.model_dump_json()


@st.cache_resource(show_spinner=False)
def _assistant(key: str, _s: Settings):
    from assistant.pipeline import get_assistant

    return get_assistant(_s)


def assistant(s: Settings | None = None):
    """The process-wide Assistant (model, index handles, audit log) for these settings."""
    s = s or settings()
    return _assistant(_settings_key(s), s)


@st.cache_resource(show_spinner=False)
def _warmed(key: str, _a) -> bool:
    _a.warm()
    return True


def warm(s: Settings | None = None) -> None:
    """Load model and index once, so the first question is not the slow one.

    Raises what ``Assistant.warm`` raises (e.g. IndexMissingError); failures are not
    cached, so the next page run tries again once the index exists.
    """
    s = s or settings()
    _warmed(_settings_key(s), assistant(s))
