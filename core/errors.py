"""The project's error hierarchy.

It lives in the bottom package (``core``, which imports nothing of ours) so that
every layer raises and catches the same types, imported from here. Third-party
exceptions are mapped to these at the boundary, and the UI and CLI only ever
show ``str(err)`` of one of them: a plain sentence.
"""


class AssistantError(Exception):
    """Base of every error this product raises on purpose."""


class ConfigError(AssistantError):
    """A setting is missing or has a value we cannot use."""


class IngestError(AssistantError):
    """A guideline file or an ingest run failed; the serving index is untouched."""

    def __init__(self, message: str, *, errors: "list[FileError] | None" = None):
        super().__init__(message)
        self.errors = list(errors or [])


class FileError(IngestError):
    """One guideline file is unusable: names the file and the reason."""

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class IngestLockedError(IngestError):
    """Another ingest run holds the lock."""


class DeletionGuardError(IngestError):
    """An ingest would delete more documents than the configured share; nothing changed."""

    def __init__(self, message: str, *, deleted: "list[str]", total: int, limit: float):
        super().__init__(message)
        self.deleted = list(deleted)
        self.total = total
        self.limit = limit


class IndexMissingError(AssistantError):
    """No corpus version has been built yet."""


class RetrievalError(AssistantError):
    """Search could not be answered (e.g. the Chroma server is unreachable)."""


class InputError(AssistantError):
    """A user's question or history is unusable (empty, too long, malformed).

    ``safety`` holds the red-flag verdict on what was sent when the input was checked before it
    was refused (long clinical notes are checked first); its message then leads with the urgent
    escalation."""

    def __init__(self, message: str, *, safety=None):
        super().__init__(message)
        self.safety = safety
