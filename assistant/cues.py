"""Cue words and patterns (``cues.yaml``), loaded and compiled once per process.

The composer reads questions and passage sentences with these; the clinical vocabulary
itself (drugs, mechanisms, findings ...) is ``vocab.yaml`` (see ``assistant/vocab.py``).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import yaml

from core.errors import ConfigError

CUES_PATH = Path(__file__).with_name("cues.yaml")


@dataclass(frozen=True)
class SuggestRule:
    heading: re.Pattern
    key: str
    text: str


@dataclass(frozen=True)
class Cues:
    patterns: Mapping[str, re.Pattern]
    intent_sentence: Mapping[str, re.Pattern]
    """Question intent -> the sentence pattern that answers it."""
    stop_words: frozenset[str]
    question_noise: tuple[str, ...]
    """Question words that carry no topic of their own (stemmed by the caller)."""
    side_effect_words: tuple[str, ...]
    generic_heads: tuple[str, ...]
    """Head words of what a request asks about that name no topic of their own ("options",
    "painkillers"): they are not checked for coverage (stemmed by the caller)."""
    suggest_rules: tuple[SuggestRule, ...]
    negation: Mapping[str, object]
    patient_factors: tuple[str, ...] = ()
    """Vocabulary concepts (besides every population) that, named about the patient, change
    what applies to them: the answer quotes what the guidance says about each."""
    comedication_classes: tuple[str, ...] = ()
    """Drug classes (vocabulary agent ids) by which a medicine the patient takes is a patient factor."""
    person_heads: tuple[str, ...] = ()
    """Last words of a request's object that name the person it is for or their circumstances
    ("a safety-critical job", "a lorry driver"), not a condition (stemmed by the caller)."""
    vignette_search: Mapping[str, object] = dataclasses.field(default_factory=dict)
    """The second search of a long vignette (``request.vignette_entities``): the vocabulary
    categories it searches by, the complaints too broad to search alone, and the word added."""
    """Negation cue patterns and settings (see assistant/negation.py)."""

    def __getitem__(self, name: str) -> re.Pattern:
        return self.patterns[name]


def _compile(path: Path, where: str, raw) -> re.Pattern:
    if not isinstance(raw, dict) or not isinstance(raw.get("regex"), str):
        raise ConfigError(f"{path}: {where} needs a 'regex' string")
    try:
        return re.compile(raw["regex"], re.IGNORECASE if raw.get("ignore_case") else 0)
    except re.error as e:
        raise ConfigError(f"{path}: {where} is not a valid regular expression: {e}") from None


def _vignette_search(raw, path: Path) -> Mapping[str, object]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: vignette_search must be a mapping")
    out: dict[str, object] = {}
    for key in ("categories", "too_broad"):
        v = raw.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ConfigError(f"{path}: vignette_search.{key} must be a list of strings, not {v!r}")
        out[key] = tuple(v)
    suffix = raw.get("suffix", "")
    if not isinstance(suffix, str):
        raise ConfigError(f"{path}: vignette_search.suffix must be a string, not {suffix!r}")
    out["suffix"] = suffix
    return out


def load_cues(path: Path = CUES_PATH) -> Cues:
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read cue file {path}: {e}") from None
    pats = {k: _compile(path, f"patterns.{k}", v) for k, v in (data.get("patterns") or {}).items()}
    intents = {k: _compile(path, f"intent_sentence.{k}", v) for k, v in (data.get("intent_sentence") or {}).items()}
    rules = []
    for i, r in enumerate(data.get("suggest_rules") or ()):
        try:
            rules.append(SuggestRule(re.compile(r["heading"], re.IGNORECASE), str(r["key"]), str(r["text"])))
        except (KeyError, TypeError, re.error) as e:
            raise ConfigError(f"{path}: suggest_rules #{i} is invalid: {e}") from None
    neg = data.get("negation") or {}
    neg_out: dict[str, object] = {}
    for k, v in neg.items():
        neg_out[k] = _compile(path, f"negation.{k}", v) if isinstance(v, dict) else v
    return Cues(
        patterns=pats, intent_sentence=intents,
        stop_words=frozenset(str(w) for w in data.get("stop_words") or ()),
        question_noise=tuple(str(w) for w in data.get("question_noise") or ()),
        side_effect_words=tuple(str(w) for w in data.get("side_effect_words") or ()),
        generic_heads=tuple(str(w) for w in data.get("generic_heads") or ()),
        suggest_rules=tuple(rules), negation=neg_out,
        patient_factors=tuple(str(w) for w in data.get("patient_factors") or ()),
        comedication_classes=tuple(str(w) for w in data.get("comedication_classes") or ()),
        person_heads=tuple(str(w) for w in data.get("person_heads") or ()),
        vignette_search=_vignette_search(data.get("vignette_search") or {}, path),
    )


@lru_cache(maxsize=1)
def cues() -> Cues:
    """The shipped cues, loaded once per process."""
    return load_cues()
