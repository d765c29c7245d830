"""Sections -> Markdown. The only place answer text is laid out."""

from __future__ import annotations

from .records import Section, Sentence


def cite_marks(cites: tuple[int, ...]) -> str:
    return "".join(f"[{n}]" for n in cites)


def render_sentence(s: Sentence) -> str:
    marks = cite_marks(s.cites)
    return f"{s.text} {marks}".rstrip() if marks else s.text


def render_section(sec: Section) -> str:
    lines: list[str] = []
    if sec.kind == "escalation":
        lines.append(f"> **{sec.heading}**")
        lines.append(">")
        for s in sec.sentences:
            lines.append(f"> - {render_sentence(s)}")
        return "\n".join(lines)
    if sec.kind in ("bottom_line", "notice", "out_of_scope"):
        if sec.heading:
            lines.append(f"**{sec.heading}:** " + " ".join(render_sentence(s) for s in sec.sentences))
        else:
            lines.append(" ".join(render_sentence(s) for s in sec.sentences))
        return "\n".join(lines)
    if sec.kind == "disclaimer":
        return "_" + " ".join(s.text for s in sec.sentences) + "_"
    if sec.heading:
        lines.append(f"### {sec.heading}")
    for i, s in enumerate(sec.sentences, 1):
        bullet = f"{i}." if sec.ordered else "-"
        lines.append(f"{bullet} {render_sentence(s)}")
    return "\n".join(lines)


def render(sections: tuple[Section, ...] | list[Section]) -> str:
    return "\n\n".join(render_section(s) for s in sections if s.sentences) + "\n"
