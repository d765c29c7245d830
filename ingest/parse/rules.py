"""The reviewed structure rules (``structure.yaml``), compiled once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

RULES_FILE = Path(__file__).with_name("structure.yaml")


@dataclass(frozen=True)
class StructureRules:
    non_answer: tuple[re.Pattern, ...]
    rec_starts: tuple[re.Pattern, ...]
    rec_strength: tuple[re.Pattern, ...]
    strength_columns: tuple[re.Pattern, ...]
    pointer_sentence: re.Pattern
    table_note_start: re.Pattern
    dependent_openers: re.Pattern
    dependent_merge_ratio: float


@lru_cache(maxsize=1)
def rules() -> StructureRules:
    data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))

    def many(key: str, full: bool = False) -> tuple[re.Pattern, ...]:
        return tuple(re.compile(f"(?:{p})$" if full else p, re.I) for p in data[key])

    return StructureRules(
        non_answer=many("non_answer_sections", full=True),
        rec_starts=many("recommendation_starts"),
        rec_strength=many("recommendation_strength"),
        strength_columns=many("strength_columns", full=True),
        pointer_sentence=re.compile(data["pointer_sentence"], re.I),
        table_note_start=re.compile(data["table_note_start"], re.I),
        dependent_openers=re.compile(data["dependent_openers"], re.I),
        dependent_merge_ratio=float(data["dependent_merge_ratio"]),
    )
