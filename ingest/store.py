"""Chroma client (embedded or server) with our embedding function and our errors.

Every collection is opened with ``GuidelineEmbeddingFunction``: Chroma must never
fall back to its default function, which would try to download a model.
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar
from urllib.parse import urlparse

from core.errors import RetrievalError
from core.settings import Settings

T = TypeVar("T")


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


class GuidelineEmbeddingFunction:
    """Chroma-facing wrapper around our embedder (queries go through it too)."""

    def __init__(self, embedder=None):
        self._embedder = embedder

    @property
    def embedder(self):
        if self._embedder is None:
            from .embed import get_embedder

            self._embedder = get_embedder()
        return self._embedder

    def __call__(self, input):  # noqa: A002 - Chroma's protocol names it so
        return [v for v in self.embedder.embed_documents(list(input))]

    def embed_query(self, input):  # noqa: A002
        return [self.embedder.embed_query(t) for t in input]

    @staticmethod
    def name() -> str:
        return "guideline_minilm"

    def get_config(self) -> dict:
        return {"model": "all-MiniLM-L6-v2"}

    @staticmethod
    def build_from_config(config: dict) -> "GuidelineEmbeddingFunction":
        return GuidelineEmbeddingFunction()

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]

    @staticmethod
    def validate_config(config: dict) -> None:
        return None

    def validate_config_update(self, old_config: dict, new_config: dict) -> None:
        return None


def describe(settings: Settings) -> str:
    return f"the Chroma server at {settings.chroma_url}" if settings.chroma_url else \
        f"the embedded Chroma store in {settings.chroma_dir}"


def make_client(settings: Settings, *, retry: bool = True):
    """A Chroma client for the configured mode; unreachable servers raise RetrievalError.

    ``retry=False`` makes one attempt and lets the third-party error through, for
    callers that run their own retry loop (``with_retries``).
    """
    import chromadb

    if settings.chroma_url:
        u = urlparse(settings.chroma_url)
        port = u.port or (443 if u.scheme == "https" else 8000)

        def connect():
            return chromadb.HttpClient(host=u.hostname, port=port, ssl=u.scheme == "https",
                                       settings=_chroma_settings())

        return with_retries(connect, settings, "connect") if retry else connect()
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=_chroma_settings())


def _is_not_found(e: Exception) -> bool:
    name = type(e).__name__
    return name in ("NotFoundError", "InvalidCollectionException") or "does not exist" in str(e)


def _is_transient_local(e: Exception) -> bool:
    """Embedded-store errors worth a retry: SQLite busy/locked under concurrent processes."""
    msg = str(e).lower()
    return "database is locked" in msg or "database is busy" in msg or "sqlite_busy" in msg


def with_retries(fn: Callable[[], T], settings: Settings, what: str,
                 on_error: Callable[[Exception], None] | None = None) -> T:
    """Run a Chroma call; retry connection failures a bounded number of times, then map them.

    ``on_error`` runs after each failed attempt, e.g. to drop a dead client handle so
    the next attempt reconnects (a restarted server).
    """
    delay = 0.2
    last: Exception | None = None
    for attempt in range(settings.chroma_retries + 1):
        try:
            return fn()
        except RetrievalError:
            raise
        except Exception as e:  # third-party: map at the boundary
            if _is_not_found(e):
                raise
            last = e
            if on_error is not None:
                on_error(e)
            if not settings.chroma_url and not _is_transient_local(e):
                break  # other embedded errors are not transient
            if attempt < settings.chroma_retries:
                time.sleep(delay)
                delay *= 2
    tries = f" after {settings.chroma_retries + 1} attempts" if settings.chroma_url else ""
    raise RetrievalError(
        f"Could not {what}: {describe(settings)} did not answer{tries} "
        f"({type(last).__name__}: {str(last)[:200]})."
        + (" Check that the server is running." if settings.chroma_url else "")
    ).with_traceback(None) from None


def open_collection(client, name: str, embedder=None, create: bool = False,
                    metadata: dict | None = None):
    ef = GuidelineEmbeddingFunction(embedder)
    if create:
        return client.create_collection(name=name, embedding_function=ef, metadata=metadata or None,
                                        configuration={"hnsw": {"space": "cosine"}})
    return client.get_collection(name=name, embedding_function=ef)
