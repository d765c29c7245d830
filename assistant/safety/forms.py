"""Answers given on forms: tick boxes next to a finding.

A triage form or template says nothing about the patient until a box is ticked:
"Saddle numbness: [ ] Y  [x] N" denies the finding, "[x] Y  [ ] N" and "[x] saddle
anaesthesia" assert it, and a row left blank ("[ ] Y  [ ] N", "[ ] urinary retention")
asserts nothing.
"""
from __future__ import annotations

import re

_TICKED = r"\[\s*[xX\u2713\u2714\u2717\u2718*]\s*\]|\([xX\u2713\u2714]\)|[\u2611\u2612\u25a0\u25a3]"
_EMPTY = r"\[\s*\]|\(\s\)|[\u2610\u25a1]"
_BOX = re.compile(rf"(?P<box>{_TICKED}|{_EMPTY})\s*(?P<label>yes|no|y|n|present|absent|pos|neg|unknown|unk|u)\b",
                  re.IGNORECASE)
_FIRST_BOX = re.compile(rf"(?:{_TICKED}|{_EMPTY})\s*(?:yes|no|y|n|present|absent|pos|neg)\b", re.IGNORECASE)
_LABEL_END = re.compile(r"[.!?;]\s|\[|\u2610|\u2611|\u2612")  # another sentence or box before the boxes
# "Urinary retention (Y/N): Y": a Y/N field filled in.
_YN_ANSWERED = re.compile(r"[^\n]{0,40}?\(?\s*y\s*/\s*n\s*\)?\s*[:=\-]?\s*(?P<answer>yes|no|y|n)\b", re.IGNORECASE)
# A label answered with a bare Y or N after its colon, and nothing else on the line.
_LABEL_ANSWERED = re.compile(r"[^:\n.!?]{0,40}:\s*(?P<answer>y|yes|n|no)\s*(?:$|\n|[,;(\-])", re.IGNORECASE)
_ANSWERED_ABSENT = re.compile(r"[^\n.;]{0,60}?(?:[-:\u2013=]|\b)\s*(?:absent|none|negative|neg|not present|nil|denied|no)\s*(?:$|[.;,)])",
                              re.IGNORECASE)
_YES = {"yes", "y", "present", "pos"}
_NO = {"no", "n", "absent", "neg"}
_LINE_BOX = re.compile(rf"^\s*(?:[-*\u2022]\s*)?(?:{_TICKED}|{_EMPTY})\s*")
_BEFORE_TICKED = re.compile(rf"(?:{_TICKED})\s*$")
_BEFORE_EMPTY = re.compile(rf"(?:{_EMPTY})\s*$")


def _ticked(box: str) -> bool:
    return re.fullmatch(_TICKED, box) is not None


def checkbox_answer(text: str, start: int, end: int) -> str | None:
    """What the form's boxes say of the finding at ``text[start:end]``: "yes", "no", "blank"
    (boxes, none ticked) or None (no boxes). Boxes answer the finding they follow on its line,
    up to the next label; a box right before the finding is its own tick."""
    ls = text.rfind("\n", 0, start) + 1
    before = text[ls:start]
    # A later finding of a ticked line's label ("[x] Fever / IVDU / immunosuppression - absent").
    lead = _LINE_BOX.match(before)
    if lead and len(before[lead.end():].split()) <= 6 and not re.search(r"[.;:]", before[lead.end():]):
        before = lead.group(0)
    if _BEFORE_TICKED.search(before):
        # A tick that says "screened", answered after the label ("[x] Saddle anaesthesia - absent").
        le = text.find("\n", end)
        if _ANSWERED_ABSENT.match(text[end:len(text) if le < 0 else le]):
            return "no"
        return "yes"
    if _BEFORE_EMPTY.search(before):
        return "blank"
    le = text.find("\n", end)
    rest = text[end:len(text) if le < 0 else le]
    # The rest of the label may follow ("Urine retention / incontinence: [ ] Y  [x] N").
    m = _FIRST_BOX.search(rest)
    if not m or _LABEL_END.search(rest[:m.start()]):
        a = _LABEL_ANSWERED.match(rest)
        if a and len(before.split()) <= 3 and len(rest[:a.start("answer")].split()) <= 4:
            # "Saddle anesthesia: N", "Bowel/bladder change: Y": a short label that starts its line
            return "yes" if a.group("answer").lower() in _YES else "no"
        y = _YN_ANSWERED.match(rest)
        if y and not _LABEL_END.search(rest[:y.start("answer")]):
            return "yes" if y.group("answer").lower() in _YES else "no"
        return None
    boxes = []
    pos = m.start()
    while True:
        b = _BOX.match(rest, pos)
        if not b:
            break
        boxes.append(b)
        pos = b.end()
        pos = re.match(r"[\s/|,]*", rest[pos:]).end() + pos
    if len(boxes) < 2:
        return None
    ticked = [b.group("label").lower() for b in boxes if _ticked(b.group("box"))]
    if not ticked:
        return "blank"
    if all(t in _NO for t in ticked):
        return "no"
    if all(t in _YES for t in ticked):
        return "yes"
    return None


# Documents whose words, quoted, describe no patient: a leaflet's warning signs, a template.
_DOCUMENT = re.compile(r"\b(?:leaflet|handout|hand-out|sheet|booklet|pamphlet|brochure|poster|card|website|web ?page|"
                       r"app|template|proforma|pro-forma|guideline|protocol|checklist|information|advice sheet|"
                       r"discharge advice|safety[- ]net(?:ting)? advice)s?\b", re.IGNORECASE)
_QUOTES = {"\"": "\"", "\u201c": "\u201d", "'": "'", "\u2018": "\u2019"}


def quoted_from_document(text: str, start: int, end: int) -> bool:
    """The finding lies inside a quotation taken from a document named just before it ("I was
    given this leaflet at physio: \"Seek urgent help if you have: numbness around your bottom;
    ...\""): the document's words, not the patient's."""
    for open_q, close_q in _QUOTES.items():
        o = text.rfind(open_q, max(0, start - 600), start)
        if o < 0:
            continue
        c = text.find(close_q, end)
        if c < 0 or (open_q == close_q and text.count(open_q, o + 1, start) % 2):
            continue  # not inside a quotation
        if "\n\n" in text[o:c]:
            continue
        # The document is named in the quotation's own sentence, not in an earlier turn or
        # sentence ("Asking what ... the guideline suggests." then a pasted clinic letter).
        before = text[max(0, o - 80):o]
        before = before[max(before.rfind("\n"), before.rfind(". "), before.rfind("? "), before.rfind("! ")) + 1:]
        if _DOCUMENT.search(before):
            return True
    return False
