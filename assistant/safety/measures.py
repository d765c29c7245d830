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

from core.errors import ConfigError

QUANTITIES = ("volume", "temperature", "age", "plain", "weight_change", "height_change", "rise_percent", "rise_points")


@dataclass(frozen=True)
class MeasurementRule:
    finding: str
    label: str
    quantity: str
    """``volume`` (mL), ``temperature`` (°C), ``age`` (years), ``plain`` (a number right after
    its cue, in the unit the policy names: a lab value such as "CRP 180" or "T-score -3.1") or
    ``weight_change`` (per cent lost between two body weights in one turn: "81.4 kg in Jan,
    72.0 kg today"), ``rise_percent`` / ``rise_points`` (a score or timed test written as a
    series after its cue, first to last: "T25FW 5.8 s (Jan) -> 12.4 s today", "EDSS 2.5 -> 4.5")."""
    at_least: float | None
    """Threshold in the canonical unit; a value at or above it is the finding."""
    source: str
    """Where the threshold comes from (shown in the policy review)."""
    cues: tuple[str, ...]
    cue_window: int = 6
    at_most: float | None = None
    """For a value that is abnormal when low (a T-score): at or below it is the finding."""
    line_cues: tuple[str, ...] = ()
    """Companions that make a bare decimal on their line this quantity: a row of vital signs
    ("Tue 38.1 HR 104") is a temperature whatever its header says."""
    not_after: tuple[str, ...] = ()
    """Words that make a value another quantity when only amounts, units and times stand between
    them and it: "voided 450 mL at 07:30 and 380 mL" is what was passed, not what was left behind."""
    measured_at_least: float | None = None
    """For a change between two values: the (lower) threshold when the earlier value was itself
    measured and recorded (a word of ``measured_cues`` beside it), not remembered: a prospective
    height loss of 2 cm means more than a remembered one of 2 cm."""
    measured_cues: tuple[str, ...] = ()
    """Words beside an earlier value that say it was measured and recorded ("measured",
    "stadiometer", "at her last review")."""

    def reached(self, value: float) -> bool:
        if self.at_least is not None and value < self.at_least:
            return False
        return not (self.at_most is not None and value > self.at_most)

    def threshold_text(self, unit: str) -> str:
        parts = [f">= {self.at_least:g}{unit}" if self.at_least is not None else "",
                 f"<= {self.at_most:g}{unit}" if self.at_most is not None else ""]
        return " and ".join(p for p in parts if p)


@dataclass(frozen=True)
class Reading:
    finding: str
    start: int
    end: int
    value: float
    """In the canonical unit."""
    detail: str


# A number; a comma or full stop right after it ends the number unless a digit follows ("T 38.6, HR 104").
_NUM = r"(?P<num>\d{1,4}(?:[.,]\d{1,2})?)"
# Units after a volume: mL (any case), mls, cc, millilitres, L / litres.
_VOL_UNIT = r"(?P<unit>ml|mls|cc|cm3|milli-?lit(?:re|er)s?|l|lit(?:re|er)s?)\b"
# Units after a temperature: °C, ° C, C, deg C, degrees (C|F|celsius|fahrenheit), °F, F, ºC.
_TEMP_UNIT = (r"(?P<unit>(?:°|º|˚)\s?[cf]\b|(?:°|º|˚)|deg(?:rees?)?\.?\s?(?:c|f|celsius|centigrade|fahrenheit)\b"
              r"|(?:c|f)\b|celsius|centigrade|fahrenheit)")
_VOLUME = re.compile(_NUM + r"\s?" + _VOL_UNIT, re.I)
_VOLUME_BARE = re.compile(_NUM + r"(?![\d/]|[.,]\d|\s?(?:%|mg|mcg|kg|g\b|mm|cm\b|h\b|hr|min|x|/))", re.I)
_TEMP = re.compile(_NUM + r"\s?" + _TEMP_UNIT, re.I)
_TEMP_BARE = re.compile(r"(?<![\d/])" + _NUM + r"(?![\d/]|[.,]\d|\s?(?:%|mg|mcg|kg|g\b|mm|cm\b|ml|cc|h\b|hr|min|x|/|years?|yrs?|y\b|weeks?|days?))",
                        re.I)
# (A number after a slash is the second half of a ratio or a gestation: "29/40" is 29 weeks.)
_YEAR = re.compile(r"(?:19|20)\d\d")
_BODY_TEMP = re.compile(r"(?<![\w.,])(?P<num>3[5-9][.,]\d|4[0-2][.,]\d)(?![\d]|[.,]\d)")
_WORD = re.compile(r"[\w°/+-]+")
# A signed number for plain values ("T-score -3.1", "CRP 180", "Ca 2.92").
_SIGNED = re.compile(r"(?<![\w.])(?P<sign>-|−|minus\s)?(?P<num>\d{1,4}(?:[.,]\d{1,2})?)(?![\d/])", re.I)
# Ages as clinicians write them: "67M", "63F", "84-year-old", "72 yo", "aged 71", "Mum is 73",
# "she's 80", "I'm 74".
_AGE = re.compile(
    r"(?<![\w.])(?P<age>\d{2,3})\s?(?:-|\s)?(?:year|yr)s?[- ]old\b"
    r"|(?<![\w.])(?P<age2>\d{2,3})\s?(?:yo\b|y/o\b|y\.o\.|yrs?\b)"
    r"|(?<![\w./])(?P<age3>\d{2,3})\s?(?:m|f|M|F)\b(?![\w/])"
    r"|\b(?:aged|age|age:)\s?(?P<age4>\d{2,3})\b"
    r"|\b(?:mr|mrs|ms|miss|mx)\.?\s+[a-z]+(?:\.[a-z]+)*\.?,\s+(?P<age6>\d{2,3})\b(?![./])"
    # A person written with an age in brackets or commas ("my mother-in-law (81)", "Dad, 80, fell").
    r"|\b(?:mum|mom|mam|mother|dad|father|husband|wife|partner|nan|nana|gran|granny|grandma|grandmother|grandad|granddad|grandpa|grandfather|mother-in-law|father-in-law|son|daughter|brother|sister|aunt|auntie|uncle|patient|pt|man|woman|lady|gentleman)\s*(?:\((?P<age7>\d{2,3})\)|,\s?(?P<age8>\d{2,3})\s?(?:,|(?:years|yrs|y)\b(?!\s+ago)))"
    r"|(?:\b(?:is|she's|he's|i'm|i am|who is|now)|\w(?:'s|’s))\s(?P<age5>\d{2,3})\b(?!\s?(?:%|mg|kg|g\b|mm|cm|ml|cc|days?|weeks?|months?|hours?|minutes?|mins?|/|x\b|times|lb|lbs|pounds|stone|kilos?))",
    re.I)


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
        for key in ("finding", "quantity", "source"):
            if key not in m:
                raise ConfigError(f"{where} is missing '{key}'")
        if m["finding"] not in finding_ids:
            raise ConfigError(f"{where}: unknown finding {m['finding']!r}")
        if m["quantity"] not in QUANTITIES:
            raise ConfigError(f"{where}: quantity must be one of {QUANTITIES}, got {m['quantity']!r}")
        cues = m.get("cues", [])
        if not isinstance(cues, list) or not all(isinstance(c, str) and c.strip() for c in cues):
            raise ConfigError(f"{where}: cues must be a list of phrases")
        not_after = m.get("not_after", [])
        if not isinstance(not_after, list) or not all(isinstance(c, str) and c.strip() for c in not_after):
            raise ConfigError(f"{where}: not_after must be a list of words")
        line_cues = m.get("line_cues", [])
        if not isinstance(line_cues, list) or not all(isinstance(c, str) and c.strip() for c in line_cues):
            raise ConfigError(f"{where}: line_cues must be a list of phrases")
        if not cues and m["quantity"] != "age":
            raise ConfigError(f"{where}: a {m['quantity']} measurement needs cues")
        bounds = {}
        for key in ("at_least", "at_most"):
            if m.get(key) is None:
                bounds[key] = None
                continue
            try:
                bounds[key] = float(m[key])
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: {key} must be a number, got {m[key]!r}") from None
        if bounds["at_least"] is None and bounds["at_most"] is None:
            raise ConfigError(f"{where}: give at_least or at_most")
        measured = m.get("measured_at_least")
        if measured is not None and (isinstance(measured, bool) or not isinstance(measured, (int, float))):
            raise ConfigError(f"{where}: measured_at_least must be a number, got {measured!r}")
        measured_cues = m.get("measured_cues", [])
        if not isinstance(measured_cues, list) or not all(isinstance(c, str) and c.strip() for c in measured_cues):
            raise ConfigError(f"{where}: measured_cues must be a list of phrases")
        if (measured is None) != (not measured_cues):
            raise ConfigError(f"{where}: measured_at_least and measured_cues go together")
        out.append(MeasurementRule(
            finding=m["finding"], label=str(m.get("label", m["finding"])), quantity=m["quantity"],
            at_least=bounds["at_least"], at_most=bounds["at_most"], source=str(m["source"]),
            cues=tuple(c.lower().strip() for c in cues), cue_window=int(m.get("cue_window", 6)),
            line_cues=tuple(c.lower().strip() for c in line_cues),
            not_after=tuple(c.lower().strip() for c in not_after),
            measured_at_least=None if measured is None else float(measured),
            measured_cues=tuple(c.lower().strip() for c in measured_cues)))
    return tuple(out)


@lru_cache(maxsize=64)
def _cue_regex(cues: tuple[str, ...]) -> re.Pattern:
    alts = sorted((re.escape(c).replace(r"\ ", r"[\s-]+") for c in cues), key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(alts) + r")(?![\w])", re.I)


def _number(s: str) -> float:
    return float(s.replace(",", "."))


def _cue_near(text: str, start: int, end: int, rule: MeasurementRule) -> bool:
    """A cue within ``cue_window`` words before the value, at the start of the value's labelled
    line, or right after its unit."""
    before = text[max(0, start - 120):start]
    words = _WORD.findall(before)
    window = " ".join(words[-rule.cue_window:]) if words else ""
    # Stop at a sentence or clause end between the cue and the number.
    tail = re.split(r"(?<!\d)\.|\.(?!\d)|[;\n]", before)[-1]  # a decimal point is no sentence end
    cue = _cue_regex(rule.cues)
    if cue.search(window) and cue.search(tail):
        return True
    # A labelled field: the line starts with the cue and the value follows its colon, however
    # long the note in between ("Bladder scan (HCA, 22:15, after she had voided): 520 ml").
    if re.search(r":\s*$", tail) and cue.match(tail.lstrip(" \t-*•>")):
        return True
    after = text[end:end + 40]
    after = re.split(r"(?<!\d)\.|\.(?!\d)|[;,\n]", after)[0]
    if cue.match(after.strip()):
        return True
    # A device named right after the reading ("38.6 on the ear thermometer", "102 on the scale").
    return bool(re.match(r"\s*(?:on|by|with|from|using)\s", after) and cue.search(" ".join(_WORD.findall(after)[:4])))


def _passed_not_left(before: str, rule: MeasurementRule) -> bool:
    """The value is what a ``not_after`` word measured: only amounts, units and times stand
    between them ("voided 450 mL at 07:30 and 380 mL"), not other words ("after she passed urine
    in the clinic toilet: 780 mL" is the scan's)."""
    words = _WORD.findall(before.lower())[-8:]
    last_not = max((i for i, w in enumerate(words) if w in rule.not_after), default=-1)
    if last_not < 0:
        return False
    return all(_AMOUNT_WORD.fullmatch(w) for w in words[last_not + 1:])


_AMOUNT_WORD = re.compile(r"[\d.,:~]+|ml|mls|cc|l|litres?|liters?|and|at|then|about|approx|around|of|h|hrs")


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
                if unit is None and _YEAR.fullmatch(m.group("num")):
                    continue  # "a DEXA scan in 2022": a year, not a volume
                if rule.not_after and _passed_not_left(text[max(0, m.start() - 80):m.start()], rule):
                    continue  # "voided 450 mL at 07:30 and 380 mL": passed, not left behind
                if unit is None and not _cue_adjacent(text, m.start(), rule):
                    continue  # a bare number needs its cue right before it ("PVR 450")
                ml = _volume_ml(m.group("num"), unit)
                if rule.reached(ml):
                    taken.add(m.start())
                    out.append(_reading(text, m, rule, ml, f"{rule.label}: {ml:g} mL ({rule.threshold_text(' mL')})"))
        elif rule.quantity == "age":
            for m in _AGE.finditer(text):
                age = float(next(g for g in m.group("age", "age2", "age3", "age4", "age5", "age6", "age7", "age8") if g))
                if 0 < age < 120 and rule.reached(age):
                    out.append(Reading(rule.finding, m.start(), m.end(), age,
                                       f"{rule.label}: {age:g} years ({rule.threshold_text(' years')})"))
        elif rule.quantity == "weight_change":
            r = _weight_change(text, rule)
            if r is not None:
                out.append(r)
        elif rule.quantity in ("rise_percent", "rise_points"):
            out.extend(_rises(text, rule))
        elif rule.quantity == "height_change":
            r = _height_change(text, rule)
            if r is not None:
                out.append(r)
        elif rule.quantity == "plain":
            for m in _SIGNED.finditer(text):
                if not _cue_adjacent(text, m.start(), rule, words=2):
                    continue
                value = _number(m.group("num")) * (-1 if m.group("sign") else 1)
                if rule.reached(value):
                    out.append(_reading(text, m, rule, value, f"{rule.label}: {value:g} ({rule.threshold_text('')})"))
        else:
            found = [(m, m.group("unit")) for m in _TEMP.finditer(text)]
            found += [(m, None) for m in _TEMP_BARE.finditer(text)]
            if rule.line_cues:  # "38.1 HR 104": a decimal that _TEMP_BARE reads as hours
                starts = {m.start() for m, _ in found}
                found += [(m, None) for m in _BODY_TEMP.finditer(text) if m.start() not in starts]
            for m, unit in found:
                if m.start() in taken:
                    continue
                # A bare degree sign on a whole number is as often an angle ("SLR positive at 40°
                # on the right"): explicit only with C or F or a decimal ("38.6°"), else it needs a
                # temperature cue nearby like any bare number.
                explicit = unit is not None and (len(unit.strip()) > 1 or (
                    any(ch in unit for ch in "°º˚") and re.search(r"[.,]\d", m.group("num")) is not None))
                if unit is None and _vital_row(text, m, rule):
                    explicit = True  # a decimal in a row of vital signs ("Tue 38.1 HR 104")
                if not explicit and not _cue_near(text, m.start(), m.end(), rule):
                    continue
                # A bare number counts right after its cue ("T 38.6"), or as a body-temperature decimal with a
                # cue in the same clause ("boiling hot then shivery, 38.4 last night").
                if unit is None and not explicit and not _cue_adjacent(text, m.start(), rule) and not (
                        re.fullmatch(r"3[5-9][.,]\d|4[0-2][.,]\d", m.group("num")) and _cue_near(text, m.start(), m.end(), rule)):
                    continue
                c = _celsius(m.group("num"), unit)
                if c is not None and rule.reached(c):
                    taken.add(m.start())
                    out.append(_reading(text, m, rule, c,
                                        f"{rule.label}: {c:.1f} °C ({rule.threshold_text(' °C')})"))
    return out


_WEIGHT = re.compile(r"(?<![\w.])(?P<num>\d{2,3}(?:[.,]\d{1,2})?)\s?(?P<unit>kg|kgs|kilos|kilograms|lb|lbs|pounds)\b"
                     r"|(?<![\w.])(?P<st>\d{1,2})\s?(?:st|stone)\s?(?:(?P<stlb>\d{1,2})\s?(?:lb|lbs|pounds)?)?\b", re.I)
_WEIGHT_RANGE = re.compile(r"(?<![\w.])(?P<a>\d{2,3}(?:[.,]\d{1,2})?)\s*(?:to|->|→|-|–)\s*(?P<b>\d{2,3}(?:[.,]\d{1,2})?)\s?"
                           r"(?P<unit>kg|kgs|kilos|kilograms|lb|lbs|pounds)\b", re.I)
# Words before a weight or height that make it an earlier one ("was 82 kg", "always been 5' 5").
_DATED = re.compile(r"(?:19|20)\d\d|\b(?:was|previously|prev|before|last (?:year|visit|time)|used to be|always been|baseline|on admission)\b", re.I)


_WEAK_DATED = re.compile(r"\b(?:was|were)\b", re.I)
_STRONG_DATED = re.compile(r"(?:19|20)\d\d|\b(?:previously|prev|before|last year|used to be|always been|baseline|on admission)\b", re.I)


def _said_earlier(text: str, start: int) -> bool:
    """The words right before a weight or height make it an earlier one."""
    return bool(_DATED.search(text[max(0, start - 14):start]))


# A date right after a value, in its own clause, makes it an earlier one too ("recorded 164 cm at
# her 2021 medical", "82 kg (2023)", "70 kg a year ago"); the clause ends at punctuation or at
# the next measured value. A year followed by a colon labels the value after it ("5' 3\" (2023:
# 5' 5\")").
_DATED_AFTER = re.compile(r"(?:19|20)\d\d(?!\s*:)|\b(?:ago|last (?:year|yr|visit|time|review|check|medical)|previously|before)\b", re.I)
_AFTER_END = re.compile(r"[;,.\n]|\d{2,3}\s?(?:cm|kg|kgs|lb|lbs)\b|\b(?:now|today|currently)\b", re.I)


def _dated_after(text: str, end: int) -> bool:
    seg = _AFTER_END.split(text[end:end + 40], maxsplit=1)[0]
    return bool(_DATED_AFTER.search(seg))


_NOW = re.compile(r"\b(now|today|currently|current|latest|this week|this morning|on the scales today)\b", re.I)


def _weight_change(text: str, rule: MeasurementRule) -> Reading | None:
    """Per cent lost from the heaviest earlier weight to the current one (the one written next
    to "now"/"today", else the last), when the turn says it is a body weight (a cue)."""
    if not _cue_regex(rule.cues).search(text):
        return None
    # "dropped from 196 to 171 lbs": two weights sharing the unit after the second.
    for m in _WEIGHT_RANGE.finditer(text):
        a, b = _number(m.group("a")), _number(m.group("b"))
        f = 0.4536 if m.group("unit").lower().startswith(("lb", "p")) else 1
        if 25 <= b * f <= a * f <= 300 and rule.reached(lost := (a - b) / a * 100):
            return Reading(rule.finding, m.start(), m.end(), lost,
                           f"{rule.label}: {a * f:.1f} kg -> {b * f:.1f} kg, {lost:.0f}% lost ({rule.threshold_text('%')})")
    found = []
    for m in _WEIGHT.finditer(text):
        if m.group("num"):
            kg = _number(m.group("num")) * (0.4536 if m.group("unit").lower().startswith(("lb", "p")) else 1)
        else:
            kg = (int(m.group("st")) * 14 + int(m.group("stlb") or 0)) * 0.4536
        if 25 <= kg <= 300:
            found.append((m, kg))
    if len(found) < 2:
        return None
    # "72 kg today" / "11 st now": the word after the weight, else right before it ("now 72 kg").
    now = [f for f in found if _NOW.search(re.split(r"[,;.]", text[f[0].end():f[0].end() + 25])[0])]
    now = now or [f for f in found if _NOW.search(re.split(r"[,;]", text[max(0, f[0].start() - 15):f[0].start()])[-1])]
    # Else the last weight not said to be an earlier one ("74 kg, was 82 kg in the spring").
    undated = [f for f in found if not _said_earlier(text, f[0].start()) and not _dated_after(text, f[0].end())]
    current = now[-1] if now else (undated or found)[-1]
    earlier = [f for f in found if f is not current]
    heaviest = max(earlier, key=lambda f: f[1])
    lost = (heaviest[1] - current[1]) / heaviest[1] * 100
    if not rule.reached(lost):
        return None
    a, b = sorted((heaviest[0], current[0]), key=lambda m: m.start())
    if _dated_after(text, heaviest[0].end()) and heaviest[0].start() > current[0].start():
        # "63 kg now, 71 kg a year ago": the date belongs to the earlier weight; the finding is
        # the current one (its span would otherwise take the date and read as history).
        a = b = current[0]
    return Reading(rule.finding, a.start(), b.end(), lost,
                   f"{rule.label}: {heaviest[1]:.1f} kg -> {current[1]:.1f} kg, {lost:.0f}% lost ({rule.threshold_text('%')})")


_HEIGHT = re.compile(r"(?<![\w.])(?P<ft>[4-6])\s?(?:'|’|ft|feet|foot)\s?(?P<inch>\d{1,2}(?:\.\d+)?)?\s?(?:\"|”|''|in\b|inches\b)?"
                     r"|(?<![\w.])(?P<cm>1[2-9]\d(?:\.\d)?)\s?cm\b|(?<![\w.])(?P<m>1\.\d{2})\s?m\b", re.I)


def _measured_beside(text: str, start: int, end: int, rule: MeasurementRule) -> bool:
    """A measured cue in the value's own clause, before or after it ("measured last yr",
    "recorded 164 cm at her 2021 medical")."""
    before = re.split(r"[;\n]|\.(?!\d)", text[max(0, start - 40):start])[-1]
    after = re.split(r"[;\n]|\.(?!\d)", text[end:end + 40])[0]
    return bool(_cue_regex(rule.measured_cues).search(before + " | " + after))


def _height_change(text: str, rule: MeasurementRule) -> Reading | None:
    """Height lost (cm) between a dated earlier height ("(2023: 5' 5.5\")", "was 165 cm") and a
    current one in the same turn, when the turn says it is a height (a cue)."""
    if not _cue_regex(rule.cues).search(text):
        return None
    found = []
    for m in _HEIGHT.finditer(text):
        if m.group("ft"):
            cm = (int(m.group("ft")) * 12 + float(m.group("inch") or 0)) * 2.54
        elif m.group("cm"):
            cm = float(m.group("cm"))
        else:
            cm = float(m.group("m")) * 100
        dated = _said_earlier(text, m.start()) or _dated_after(text, m.end())
        if found and re.fullmatch(r"\s*\(\s*", text[found[-1][3]:m.start()]) and abs(found[-1][1] - cm) < 1.5:
            # The same height in the other unit, in brackets ("5'4\" (162.5 cm) measured last yr").
            p = found[-1]
            found[-1] = (p[0], p[1], p[2] or dated, m.end() + (text[m.end():m.end() + 1] == ")"))
            continue
        found.append((m, cm, dated, m.end()))
    earlier = [f for f in found if f[2]]
    current = [f for f in found if not f[2]]
    if not current and len(earlier) >= 2:
        # "last month I was 5 ft 2 when I've always been 5 ft 4": a bare "was" is the latest
        # measurement when another height is dated further back.
        weak = [f for f in earlier if _WEAK_DATED.search(text[max(0, f[0].start() - 14):f[0].start()])
                and not _STRONG_DATED.search(text[max(0, f[0].start() - 14):f[0].start()])]
        if weak and len(weak) < len(earlier):
            current = weak
            earlier = [f for f in earlier if f not in weak]
    if not earlier or not current:
        return None
    before, now = max(earlier, key=lambda f: f[1]), current[0]
    lost = before[1] - now[1]
    if rule.measured_at_least is not None and _measured_beside(text, before[0].start(), before[3], rule):
        # The earlier height was measured and recorded: a prospective loss.
        if lost < rule.measured_at_least:
            return None
        return Reading(rule.finding, now[0].start(), now[0].end(), lost,
                       f"{rule.label}: {before[1]:.1f} cm (measured) -> {now[1]:.1f} cm, {lost:.1f} cm lost "
                       f"(>= {rule.measured_at_least:g} cm between measurements)")
    if not rule.reached(lost):
        return None
    # The current height is the finding: the dated earlier one would make the quote historical.
    return Reading(rule.finding, now[0].start(), now[0].end(), lost,
                   f"{rule.label}: {before[1]:.1f} cm -> {now[1]:.1f} cm, {lost:.1f} cm lost ({rule.threshold_text(' cm')})")


# A series of values: numbers (with an optional unit of time or score) joined by arrows or
# "to"/"then"/"now", each perhaps dated in brackets ("5.8 s (Jan) -> 6.0 s (Apr) -> 12.4 s today").
# A value may carry its label before it ("Jan 7.1 s, Apr 7.4 s, today 16.8 s").
_SERIES_LABEL = (r"(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?|today|now|baseline|r|l|right|left|"
                 r"\d{1,2}[./]\d{1,2}(?:[./]\d{2,4})?)\s*:?\s*")
_SERIES_VALUE = re.compile(r"(?:" + _SERIES_LABEL + r")?(?<![\w.])(?P<num>\d{1,3}(?:[.,]\d{1,2})?)(?![\d/.])\s?(?:s|sec|secs|seconds|points?|pts|kg|kgs|lb|lbs)?\b"
                           # A number with another unit is another measure ("EDSS 3.5, 500 m with one stick").
                           r"(?!\s?(?:m|metres?|meters?|km|miles?|yards?|yds?|ft|feet|cm|mm|mg|mcg|ml|g|%)(?![\w]))"
                           r"(?:\s*\([^()\n]{0,20}\))?", re.I)
# A comma joins values too ("5.8 s (January baseline), 6.1 s (4 wks ago), 12.4 s today"): the next
# value must follow within a few characters, so "T25FW 6.1, EDSS 3.0" is not one series.
_SERIES_JOIN = re.compile(r"^\s*(?:->|-->|=>|\u2192|\u2794|>|to|then|now|,|;|,\s*now|,\s*then|,\s*and|and now|up to|increased to|worse at)\s*$", re.I)


def _rises(text: str, rule: MeasurementRule) -> list[Reading]:
    """A series after its cue whose last value is above its first by the threshold (per cent of
    the first for ``rise_percent``, in points for ``rise_points``)."""
    out = []
    for cue in _cue_regex(rule.cues).finditer(text):
        m = _SERIES_VALUE.match(text, cue.end() + len(re.match(r"[\s:=]*", text[cue.end():]).group(0)))
        if not m:
            continue
        values = [m]
        while True:
            nxt = _SERIES_VALUE.search(text, values[-1].end(), values[-1].end() + 20)
            if not nxt or not _SERIES_JOIN.match(text[values[-1].end():nxt.start()]):
                break
            values.append(nxt)
        if len(values) < 2:
            continue
        if re.search(r"(?:19|20)\d\d|\byears?\b|\byrs?\b", text[values[0].start():values[-1].end()], re.I):
            continue  # a change over years is the disease's course, not a new deficit
        first, last = _number(values[0].group("num")), _number(values[-1].group("num"))
        rise = (last - first) / first * 100 if rule.quantity == "rise_percent" and first > 0 else last - first
        if rule.reached(rise):
            unit = "%" if rule.quantity == "rise_percent" else " points"
            out.append(Reading(rule.finding, cue.start(), values[-1].end(), rise,
                               f"{rule.label}: {first:g} -> {last:g}, {'up' if rise >= 0 else 'down'} {abs(rise):.0f}{unit} ({rule.threshold_text(unit)})"
                               if rule.quantity == "rise_percent" else
                               f"{rule.label}: {first:g} -> {last:g}, up {rise:g}{unit} ({rule.threshold_text(unit)})"))
    return out


def line_at(text: str, pos: int) -> tuple[int, str]:
    """(start offset, text) of the line holding character ``pos``: notes, charts and tables are
    read line by line."""
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, text[start:end if end >= 0 else len(text)]


def _vital_row(text: str, m: re.Match, rule: MeasurementRule) -> bool:
    """A body-temperature decimal (35.0-42.9) on a line that also holds another vital sign."""
    if not rule.line_cues or not re.fullmatch(r"3[5-9][.,]\d|4[0-2][.,]\d", m.group("num")):
        return False
    return bool(_cue_regex(rule.line_cues).search(line_at(text, m.start())[1]))


def _cue_adjacent(text: str, start: int, rule: MeasurementRule, words: int = 4) -> bool:
    """The cue ends a few words (or a colon/equals sign) before the number."""
    before = text[max(0, start - 60):start]
    found = _WORD.findall(before)
    near = " ".join(found[-words:])
    cue = _cue_regex(rule.cues)
    if not cue.search(near):
        return False
    # No sentence or clause end between the cue and the number ("Back pain. CRP 150" counts;
    # "temp normal. 39 years old" does not). A full stop before the cue does not matter.
    last = None
    for last in cue.finditer(before):
        pass
    return last is not None and not re.search(r"[.;\n]", before[last.end():])


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
