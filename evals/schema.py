"""Evaluation test-set format and loader.

A test set is JSONL: one case a line,

    {"id": str, "category": str, "conversation": [{"role", "content"}], "question": str,
     "audience": "clinician"|"patient", "expect": {...}, "notes": str}

``conversation`` (the turns before ``question``), ``audience`` and ``notes`` are optional.
A malformed file is refused as a whole with an ``EvalSetError`` that names the
line and the field, so nobody runs an evaluation on a half-read set.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.records import RED_FLAG_CATEGORIES, Turn
from core.errors import AssistantError

CATEGORIES = (
    "core",
    "follow_up",
    "red_flag",
    "no_red_flag",
    "opioid",
    "out_of_scope",
    "adversarial",
    "patient_audience",
)
"""Categories the shipped set uses; others are allowed."""

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_-]*(#.+)?$")


class EvalSetError(AssistantError):
    """A test-set file is unusable: names the file, the line and the field."""

    def __init__(self, path: str, line: int | None, field: str | None, reason: str):
        self.path = str(path)
        self.line = line
        self.field = field
        self.reason = reason
        where = self.path if line is None else f"{self.path}, line {line}"
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{reason}")


class _Strict(BaseModel):
    # strict: a number is not silently turned into text, "true" is not a boolean
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ConversationTurn(_Strict):
    role: Literal["user", "assistant"]
    content: str = Field(min_length=1)


class Expect(_Strict):
    """What a good answer to the case does. Every key is optional."""

    escalate: bool | None = None
    """True: must lead with red-flag escalation. False: must not escalate."""
    red_flags: tuple[str, ...] = ()
    """Red-flag categories the escalation must name."""
    facts: tuple[tuple[str, ...], ...] = ()
    """Required facts; each is a list of alternative phrasings (any one, case-insensitive)."""
    forbid: tuple[str, ...] = ()
    """Phrases that must not appear in the answer."""
    opioid_rule: bool | None = None
    """Any opioid mentioned is framed as reserved and never as first-line."""
    out_of_scope: bool | None = None
    """True: the answer says the guidance does not cover it and cites nothing."""
    must_cite: bool | None = None
    """At least one valid citation."""
    sources: tuple[str, ...] = ()
    """Gold passages: 'doc_id' or 'doc_id#section' (retrieval metrics)."""

    @field_validator("red_flags")
    @classmethod
    def _categories(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for c in v:
            if c not in RED_FLAG_CATEGORIES:
                raise ValueError(f"unknown red-flag category {c!r}; use one of {', '.join(RED_FLAG_CATEGORIES)}")
        return v

    @field_validator("facts")
    @classmethod
    def _facts(cls, v: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        for i, alts in enumerate(v):
            if not alts:
                raise ValueError(f"facts[{i}] has no alternatives")
            if any(not a.strip() for a in alts):
                raise ValueError(f"facts[{i}] has an empty alternative")
        return v

    @field_validator("forbid")
    @classmethod
    def _forbid(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if any(not p.strip() for p in v):
            raise ValueError("empty forbidden phrase")
        return v

    @field_validator("sources")
    @classmethod
    def _sources(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for s in v:
            if not _SOURCE.match(s):
                raise ValueError(f"source {s!r} is not 'doc_id' or 'doc_id#section'")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "Expect":
        if self.red_flags and self.escalate is False:
            raise ValueError("red_flags are listed but escalate is false")
        if self.out_of_scope and (self.must_cite or self.facts):
            raise ValueError("an out-of-scope case cannot also require citations or facts")
        return self

    def describe(self) -> list[str]:
        """The expectation in plain words, one line each (reports and exports)."""
        out: list[str] = []
        if self.out_of_scope:
            out.append("Says the guidance in the knowledge base does not cover this, and cites nothing.")
        elif self.out_of_scope is False:
            out.append("Answers from the guidance (not declined as out of scope).")
        if self.escalate:
            cats = ", ".join(c.replace("_", " ") for c in self.red_flags) or "any category"
            out.append(f"Opens with red-flag escalation ({cats}) before routine guidance.")
        elif self.escalate is False:
            out.append("Does not escalate: no red flag is present.")
        for alts in self.facts:
            out.append("States " + " or ".join(f"'{a}'" for a in alts) + ".")
        if self.forbid:
            out.append("Never says " + ", ".join(f"'{p}'" for p in self.forbid) + ".")
        if self.opioid_rule:
            out.append("Any opioid is presented as reserved for severe, disabling pain uncontrolled by "
                       "other measures, never as first-line.")
        if self.must_cite:
            out.append("Cites at least one retrieved guideline passage.")
        if self.sources:
            out.append("Draws on: " + ", ".join(self.sources) + ".")
        return out


class EvalCase(_Strict):
    id: str = Field(min_length=1)
    category: str = Field(min_length=1)
    question: str = Field(min_length=1)
    conversation: tuple[ConversationTurn, ...] = ()
    audience: Literal["clinician", "patient"] = "clinician"
    expect: Expect
    notes: str = ""
    """Why the case exists, for the human reading the report."""

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"id {v!r} may use only letters, digits, '_', '.', '-'")
        return v

    def history(self) -> tuple[Turn, ...]:
        """The prior turns as the assistant's ``Turn`` records."""
        return tuple(Turn(t.role, t.content) for t in self.conversation)

    def to_json(self) -> dict:
        return self.model_dump(mode="json", exclude_defaults=False)


def _loc(loc: tuple) -> str:
    parts: list[str] = []
    for x in loc:
        if isinstance(x, int):
            parts.append(f"[{x}]")
        else:
            parts.append(("." if parts else "") + str(x))
    return "".join(parts)


def _reason(err: dict) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        return "is not a known field"
    msg = err.get("msg", "invalid")
    # pydantic prefixes validator messages with "Value error, "
    msg = msg.removeprefix("Value error, ")
    got = err.get("input")
    if kind.endswith("_type") or kind.startswith("literal"):
        return f"{msg} (got {json.dumps(got)[:60]})"
    return msg


def _known_keys(loc: tuple) -> tuple[str, ...]:
    """Field names allowed at the object holding ``loc`` (for 'did you mean')."""
    model: type[BaseModel] = EvalCase
    for part in loc[:-1]:
        if part == "expect":
            model = Expect
        elif part == "conversation":
            model = ConversationTurn
    return tuple(model.model_fields)


def _misspelt(err: dict) -> str:
    import difflib

    loc = tuple(err["loc"])
    name = str(loc[-1]) if loc else ""
    close = difflib.get_close_matches(name, _known_keys(loc), n=1, cutoff=0.6)
    return f"is not a known field (did you mean '{close[0]}'?)" if close else (
        f"is not a known field; known fields: {', '.join(_known_keys(loc))}")


def parse_case(obj: object, *, path: str = "<set>", line: int = 1) -> EvalCase:
    """Validate one decoded JSON value as a case, or raise EvalSetError.

    An unknown key is reported before anything else, with the nearest known name, so a
    misspelt ``questoin`` or ``expcet`` is named rather than hidden behind "'question' is
    missing"."""
    if not isinstance(obj, dict):
        raise EvalSetError(path, line, None, f"a case must be a JSON object, got {type(obj).__name__}")
    try:
        # JSON mode: strict types as JSON knows them (arrays for lists, no string->number coercion)
        return EvalCase.model_validate_json(json.dumps(obj))
    except ValidationError as e:
        errs = e.errors()
        extra = [x for x in errs if x.get("type") == "extra_forbidden"]
        err = extra[0] if extra else errs[0]
        field = _loc(tuple(err["loc"])) or None
        reason = _misspelt(err) if extra else _reason(err)
        raise EvalSetError(path, line, field, reason) from None


def parse_lines(lines, *, path: str = "<set>") -> list[EvalCase]:
    """Parse JSONL text lines; blank lines are skipped. Ids must be unique."""
    return [c for _, c in parse_lines_numbered(lines, path=path)]


def parse_lines_numbered(lines, *, path: str = "<set>") -> list[tuple[int, EvalCase]]:
    """(line number, case) for each case; see ``parse_lines``."""
    cases: list[tuple[int, EvalCase]] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise EvalSetError(path, n, None, f"not valid JSON: {e.msg} at column {e.colno}") from None
        case = parse_case(obj, path=path, line=n)
        if case.id in seen:
            raise EvalSetError(path, n, "id", f"duplicate id {case.id!r} (first used on line {seen[case.id]})")
        seen[case.id] = n
        cases.append((n, case))
    if not cases:
        raise EvalSetError(path, None, None, "the test set has no cases")
    return cases


def load_set(path: str | Path) -> list[EvalCase]:
    """Read and validate a JSONL test set, refusing it whole if any line is malformed."""
    return [c for _, c in load_set_numbered(path)]


def check_sources(numbered: list[tuple[int, EvalCase]], chunks, *, path: str = "<set>",
                  corpus_version: str = "") -> None:
    """Refuse (EvalSetError naming the line) a gold ``sources`` entry that names no document,
    or no section of it, in the served corpus: it could only ever fail hit@k."""
    from .checks import source_matches_chunk

    docs: dict[str, list] = {}
    for c in chunks:
        docs.setdefault(c.doc_id, []).append(c)
    where = f" of corpus version {corpus_version}" if corpus_version else ""
    for n, case in numbered:
        for i, src in enumerate(case.expect.sources):
            doc, _, section = src.partition("#")
            if doc not in docs:
                import difflib

                close = difflib.get_close_matches(doc, sorted(docs), n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise EvalSetError(path, n, f"expect.sources[{i}]",
                                   f"{src!r} names no document in the served corpus{where}{hint}")
            if section and not any(source_matches_chunk(src, c) for c in docs[doc]):
                heads = sorted({c.heading for c in docs[doc]})
                raise EvalSetError(path, n, f"expect.sources[{i}]",
                                   f"{src!r}: document '{doc}' has no section '{section}'{where}; "
                                   f"its sections: {', '.join(heads[:12])}" + (" ..." if len(heads) > 12 else ""))


def load_set_numbered(path: str | Path) -> list[tuple[int, EvalCase]]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvalSetError(str(p), None, None, "file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise EvalSetError(str(p), None, None, f"cannot read file ({e})") from None
    return parse_lines_numbered(text.splitlines(), path=str(p))
