"""One settings object for the whole product, read from ``GUIDELINE_*`` env vars.

Load it once (``Settings()``, or ``load_settings()`` for a ``ConfigError`` instead of
pydantic's) at the entry point and pass it down; tests build their own pointing at
``tmp_path``. It lives in ``core``, the bottom package every layer imports from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GUIDELINE_", extra="ignore", frozen=True)

    data_dir: Path = PROJECT_ROOT / "data"
    """Index, versions, lock and audit log live here (git-ignored)."""
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    """Guideline files to ingest."""
    chroma_url: str | None = None
    """``http://host:port`` of a ``chroma run`` server; unset = embedded PersistentClient."""
    chroma_retries: int = Field(3, ge=0, le=10)
    """Bounded retries when the Chroma server does not answer."""

    llm: str | None = None
    """``ollama:<model>`` or ``openai:<model>``; unset = grounded composer (no LLM)."""
    llm_timeout_s: float = Field(30.0, gt=0)
    """Cap on one request to the chat model (the client's timeout); the answer's deadline
    below usually ends it first."""
    llm_deadline_s: float = Field(20.0, gt=0)
    """One deadline for all LLM work of an answer (rewriting a follow-up and writing the
    answer): when it passes, the request is cancelled (never retried) and the grounded
    composer answers, marked ``llm_timeout`` in the answer's flags and trace and in the audit."""
    admin_password: SecretStr | None = None
    """No default: admin pages are disabled until this is set."""

    keep_versions: int = Field(3, ge=1, le=100)
    """How many corpus versions are kept for rollback."""
    max_deletion_share: float = Field(0.25, ge=0.0, le=1.0)
    """An ingest that would delete more than this share of the serving documents stops and
    asks for ``--allow-deletions`` (or the admin page's confirmation): pointing
    ``GUIDELINE_CORPUS_DIR`` at the wrong folder must not silently empty the index."""
    chunk_size: int = Field(900, ge=200, le=8000)
    chunk_overlap: int = Field(0, ge=0, le=2000)
    embed_batch_size: int = Field(16, ge=1, le=1024)
    """Passages per model call. Small batches of length-sorted passages pad little: on this
    2-core CPU 16 beat 32 and 64 on both engines (bench/bench_embedders.py)."""
    query_embedder: Literal["auto", "torch", "onnx"] = "auto"
    """How single queries are embedded. ``auto``: through the ONNX copy of the model once
    an ingest has exported it and verified it gives the same vectors (much faster start,
    no torch import), else sentence-transformers. ``onnx`` requires it; ``torch`` never uses it."""
    passage_embedder: Literal["auto", "torch", "onnx"] = "auto"
    """How ingestion embeds passages. ``auto``: through the same verified ONNX copy (the
    first ingest on a machine exports and verifies it before embedding), else
    sentence-transformers. ``onnx`` requires it; ``torch`` never uses it. Either way the
    index records the sentence-transformers fingerprint: the copy gives the same vectors."""
    model_dir: Path | None = None
    """Where the exported query model lives; unset = ``<data_dir>/models``."""
    max_file_bytes: int = Field(5_000_000, ge=1000)
    """Guideline files larger than this are refused."""

    default_status: Literal["approved", "under_review", "draft"] = "approved"
    """Status of a document whose metadata does not give one (an admin put it in the corpus
    folder, so it is approved unless configured otherwise)."""

    top_k: int = Field(8, ge=1, le=100)
    include_statuses: tuple[str, ...] = ("approved",)
    """Document statuses served by default."""
    max_question_chars: int = Field(2000, ge=10)
    """Longest text retrieval searches with; a longer note is searched by its request and the
    clinical entities of the rest (``assistant/request.py``)."""
    max_turn_chars: int = Field(20_000, ge=100)
    """Longest question (or pasted note) accepted, and checked in full by the safety layer; a
    longer one is still checked for red flags before it is refused."""
    max_history_turns: int = Field(40, ge=0)

    audit_hash_questions: bool = False
    """Store a SHA-256 of the question instead of its text in the audit log."""

    @field_validator("chroma_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"GUIDELINE_CHROMA_URL must start with http:// or https://, got {v!r}")
        return v.rstrip("/")

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap(cls, v: int, info) -> int:
        size = info.data.get("chunk_size", 900)
        if v >= size:
            raise ValueError(f"chunk_overlap ({v}) must be smaller than chunk_size ({size})")
        return v

    @property
    def query_model_dir(self) -> Path:
        return self.model_dir or self.data_dir / "models"

    @property
    def versions_dir(self) -> Path:
        return self.data_dir / "versions"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def audit_db(self) -> Path:
        return self.data_dir / "audit.sqlite"


def load_settings(**overrides) -> Settings:
    """Settings from the environment, with pydantic errors mapped to ConfigError."""
    from pydantic import ValidationError

    from .errors import ConfigError

    try:
        return Settings(**overrides)
    except ValidationError as e:
        parts = []
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "settings"
            parts.append(f"GUIDELINE_{loc.upper()}: {err['msg']}")
        raise ConfigError("Invalid settings: " + "; ".join(parts)) from None
