"""The product's error hierarchy (defined in the bottom layer, ``ingest.errors``)."""

from ingest.errors import (  # noqa: F401
    AssistantError,
    ConfigError,
    FileError,
    IndexMissingError,
    IngestError,
    IngestLockedError,
    InputError,
    RetrievalError,
)
