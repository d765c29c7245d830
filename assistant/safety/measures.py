"""Findings read from measurements: a number with its unit, compared with a threshold the policy
names (and cites). "Bladder scan 650 mL", "PVR 450cc", "T 38.6", "temp 101.3F", "39 °C".

The policy's ``measurements`` section lists, per finding, the quantity (``volume`` in mL or
``temperature`` in °C), the threshold (``at_least``), its source, and the cue words that say what
was measured. A value counts when a cue stands within ``cue_window`` words before it (or right
after it, "650 mL residual"), or, for a temperature, when it carries an explicit temperature unit
(°C, °F, "deg C"). Spans are returned as character offsets in the turn; the caller turns them
into mentions so that the ordinary context passes (negated, hypothetical...) apply to them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ingest.errors import ConfigError

QUANTITIES = ("volume", "temperature")


@dataclass(frozen=True)
class MeasurementRule:
    finding: str
    label: str
    quantity: str
    """``volume`` (mL) or ``temperature`` (°C)."""
    at_least: float
    """Threshold in the canonical unit (mL or °C); a value at or above it is the finding."""
    source: str
    """Where the threshold comes from (shown in the policy review)."""
    cues: tuple[str, ...]
    cue_window: int = 6


@dataclass(frozen=True)
class Reading:
    finding: str
    start: int
    end: int
    value: float
    """In the canonical unit."""
    detail: str


_NUM = r"(?P<num>\d{1,4}(?:[.,]\d{1,2})?)"
# Units after a volume: mL (any case), mls, cc, millilitres, L / litres.
_VOL_UNIT = r"(?P<unit>ml|mls|cc|cm3|milli-?lit(?:re|er)s?|l|lit(?:re|er)s?)\b"
# Units after a temperature: °C, ° C, C, deg C, degrees (C|F|celsius|fahrenheit), °F, F, ºC.
_TEMP_UNIT = (r"(?P<unit>(?:°|º|˚)\s?[cf]\b|(?:°|º|˚)|deg(?:rees?)?\.?\s?(?:c|f|celsius|centigrade|fahrenheit)\b"
              r"|(?:c|f)\b|celsius|centigrade|fahrenheit)")
_VOLUME = re.compile(_NUM + r"\s?" + _VOL_UNIT, re.I)
_VOLUME_BARE = re.compile(_NUM + r"(?![\d.,/]|\s?(?:%|mg|mcg|kg|g\b|mm|cm\b|h\b|hr|min|x|/))", re.I)
_TEMP = re.compile(_NUM + r"\s?" + _TEMP_UNIT, re.I)
_TEMP_BARE = re.compile(_NUM + r"(?![\d.,/]|\s?(?:%|mg|mcg|kg|g\b|mm|cm\b|ml|cc|h\b|hr|min|x|/|years?|yrs?|y\b|weeks?|days?))",
                        re.I)
_WORD = re.compile(r"[\w°/+-]+")


def parse_measurements(raw, finding_ids: set[str]) -> tuple[MeasurementRule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("safety policy: measurements must be a list")
    out = []
    for i, m in enumerate(raw):
        where = f"safety policy: measurements[{i}]"
        if not isinstance(m, dict):
            raise ConfigError(f"{where} must be a mapping")
        for key in ("finding", "quantity", "at_least", "source", "cues"):
            if key not in m:
                raise ConfigError(f"{where} is missing '{key}'")
        if m["finding"] not in finding_ids:
            raise ConfigError(f"{where}: unknown finding {m['finding']!r}")
        if m["quantity"] not in QUANTITIES:
            raise ConfigError(f"{where}: quantity must be one of {QUANTITIES}, got {m['quantity']!r}")
        cues = m["cues"]
        if not isinstance(cues, list) or not all(isinstance(c, str) and c.strip() for c in cues):
            raise ConfigError(f"{where}: cues must be a list of phrases")
        try:
            at_least = float(m["at_least"])
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: at_least must be a number, got {m['at_least']!r}") from None
        out.append(MeasurementRule(
            finding=m["finding"], label=str(m.get("label", m["finding"])), quantity=m["quantity"],
            at_least=at_least, source=str(m["source"]),
            cues=tuple(c.lower().strip() for c in cues), cue_window=int(m.get("cue_window", 6))))
    return tuple(out)


@lru_cache(maxsize=64)
def _cue_regex(cues: tuple[str, ...]) -> re.Pattern:
    alts = sorted((re.escape(c).replace(r"\ ", r"[\s-]+") for c in cues), key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(alts) + r")(?![\w])", re.I)


def _number(s: str) -> float:
    return float(s.replace(",", "."))


def _cue_near(text: str, start: int, end: int, rule: MeasurementRule) -> bool:
    """A cue within ``cue_window`` words before the value, or right after its unit."""
    before = text[max(0, start - 120):start]
    words = _WORD.findall(before)
    window = " ".join(words[-rule.cue_window:]) if words else ""
    # Stop at a sentence or clause end between the cue and the number.
    tail = re.split(r"[.;\n]", before)[-1]
    cue = _cue_regex(rule.cues)
    if cue.search(window) and cue.search(tail):
        return True
    after = text[end:end + 40]
    after = re.split(r"[.;,\n]", after)[0]
    return bool(cue.match(after.strip()))


def _volume_ml(num: str, unit: str | None) -> float:
    v = _number(num)
    return v * 1000 if (unit or "").lower().startswith(("l", "lit")) else v


def _celsius(num: str, unit: str | None) -> float | None:
    v = _number(num)
    u = (unit or "").lower()
    if "f" in u.replace("of", ""):  # °F, F, deg F, fahrenheit
        return (v - 32) * 5 / 9 if 90 <= v <= 115 else None
    if u and ("c" in u or u in ("°", "º", "˚")):
        if 30 <= v <= 45:
            return v
        return (v - 32) * 5 / 9 if u in ("°", "º", "˚") and 90 <= v <= 115 else None
    # No unit: the range says which scale.
    if 34 <= v <= 43.5:
        return v
    if 93 <= v <= 110:
        return (v - 32) * 5 / 9
    return None


def readings(text: str, rules: tuple[MeasurementRule, ...]) -> list[Reading]:
    """Every measurement in ``text`` at or over its rule's threshold."""
    out: list[Reading] = []
    taken: set[int] = set()  # start offsets already read (a value with a unit, then bare)
    for rule in rules:
        if rule.quantity == "volume":
            found = [(m, m.group("unit")) for m in _VOLUME.finditer(text)]
            found += [(m, None) for m in _VOLUME_BARE.finditer(text)]
            for m, unit in found:
                if m.start() in taken or not _cue_near(text, m.start(), m.end(), rule):
                    continue
                if unit is None and not _cue_adjacent(text, m.start(), rule):
                    continue  # a bare number needs its cue right before it ("PVR 450")
                ml = _volume_ml(m.group("num"), unit)
                if ml >= rule.at_least:
                    taken.add(m.start())
                    out.append(_reading(text, m, rule, ml, f"{rule.label}: {ml:g} mL (threshold {rule.at_least:g} mL)"))
        else:
            found = [(m, m.group("unit")) for m in _TEMP.finditer(text)]
            found += [(m, None) for m in _TEMP_BARE.finditer(text)]
            for m, unit in found:
                if m.start() in taken:
                    continue
                explicit = unit is not None and (any(ch in unit for ch in "°º˚") or len(unit.strip()) > 1)
                if not explicit and not _cue_near(text, m.start(), m.end(), rule):
                    continue
                if unit is None and not _cue_adjacent(text, m.start(), rule):
                    continue
                c = _celsius(m.group("num"), unit)
                if c is not None and c >= rule.at_least:
                    taken.add(m.start())
                    out.append(_reading(text, m, rule, c,
                                        f"{rule.label}: {c:.1f} °C (threshold {rule.at_least:g} °C)"))
    return out


def _cue_adjacent(text: str, start: int, rule: MeasurementRule) -> bool:
    """The cue ends at most three words (or a colon/equals sign) before the number."""
    before = text[max(0, start - 60):start]
    words = _WORD.findall(before)
    near = " ".join(words[-4:])
    return bool(_cue_regex(rule.cues).search(near)) and not re.search(r"[.;\n]", before[-25:])


def _reading(text: str, m: re.Match, rule: MeasurementRule, value: float, detail: str) -> Reading:
    # Quote the cue with the value when the cue is close ("bladder scan 650 mL").
    start = m.start()
    before = text[max(0, start - 40):start]
    cue = None
    for c in _cue_regex(rule.cues).finditer(before):
        cue = c
    if cue is not None and not re.search(r"[.;\n]", before[cue.start():]):
        start = start - len(before) + cue.start()
    return Reading(rule.finding, start, m.end(), value, detail)
