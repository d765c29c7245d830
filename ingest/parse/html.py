"""HTML -> Markdown with BeautifulSoup: the main content, its headings, lists and tables.

Published guidance pages (NICE, CDC, WHO) wrap the guideline in navigation, cookie
banners and footers; the ``<main>`` element (or ``role="main"``, or the page's single
``<article>``) is taken when there is one. Tables become Markdown pipe tables (header row
first, ``colspan`` repeated, ``rowspan`` carried down) with their caption on the line
before, so the chunker can make one passage per row. Reference links and superscript
citation numbers become ``[n]`` markers, which the chunker removes from the passage
text and keeps as metadata.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from .meta import parse_date

_DROP_TAGS = ("script", "style", "noscript", "template", "head", "title", "meta", "link", "svg", "iframe",
              "object", "nav", "aside", "form", "button", "dialog")
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3}
_PARAGRAPHS = {"p", "h4", "h5", "h6", "pre", "dt", "dd", "caption", "figcaption", "summary", "address"}
_LISTS = {"ul", "ol"}
_INLINE = {
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd", "mark", "q",
    "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr", "del", "ins", "label",
}
_REF_TEXT = re.compile(r"^\[?\s*\d{1,4}(?:\s*[-\u2013,]\s*\d{1,4})*\s*\]?$")
"""What a citation link or superscript says: '23', '[23]', '4-6', '1, 3'."""
_DATE_META = ("dcterms.modified", "dc.date.modified", "article:modified_time", "last-modified", "dcterms.date",
              "citation_publication_date", "dc.date", "article:published_time", "date")
_AUTHOR_META = ("citation_publisher", "dc.publisher", "dcterms.publisher", "author", "citation_author",
                "og:site_name")


def parse_html(text: str) -> tuple[list[tuple[str, str]], str, dict[str, Any]]:
    """-> (guideline:* meta tags, Markdown body, hints: title, date, author)."""
    from bs4 import BeautifulSoup, CData, NavigableString, Tag

    soup = BeautifulSoup(text, "html.parser")

    meta = []
    named: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        name = tag.get("name") or tag.get("property")
        if isinstance(name, list):
            name = " ".join(name)
        content = tag.get("content") or ""
        if isinstance(content, list):
            content = " ".join(content)
        if not isinstance(name, str):
            continue
        key = name.strip().lower()
        if key.startswith("guideline:"):
            meta.append((key, str(content)))
        else:
            named.setdefault(key, str(content).strip())
    hints: dict[str, Any] = {}
    title_tag = soup.find("title")
    page_title = named.get("citation_title") or named.get("og:title") or (
        " ".join(title_tag.get_text().split()) if title_tag else "")
    if page_title:
        hints["title"] = page_title
    for key in _DATE_META:
        d = parse_date(named.get(key, "")) if named.get(key) else None
        if d is not None and d <= date.today():
            hints["date"] = d
            break
    for key in _AUTHOR_META:
        if named.get(key):
            hints["author"] = named[key]
            break

    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with(" ")

    def is_text(node) -> bool:
        # Comments, doctypes and processing instructions are NavigableString subclasses.
        return type(node) in (NavigableString, CData)

    # Citation links and superscript numbers -> '[n]' markers (the chunker strips and keeps them).
    for tag in soup.find_all(["sup", "a"]):
        if tag.parent is None:  # inside a marker already replaced
            continue
        t = " ".join(tag.get_text().split())
        href = tag.get("href") if tag.name == "a" else None
        is_ref_link = isinstance(href, str) and href.startswith("#") and _REF_TEXT.match(t or "")
        if (tag.name == "sup" and t and _REF_TEXT.match(t)) or is_ref_link:
            tag.replace_with("[" + t.strip("[] ") + "]")
    # Zero-width characters never carry meaning.
    for node in list(soup.find_all(string=re.compile("[\u200b\u200c\u200d\u2060\ufeff]"))):
        if is_text(node):
            node.replace_with(re.sub("[\u200b\u200c\u200d\u2060\ufeff]", "", str(node)))

    def raw_text(node) -> str:
        if is_text(node):
            return str(node)
        if isinstance(node, Tag):
            return "".join(s for s in node.descendants if is_text(s))
        return ""

    def text_of(node) -> str:
        return " ".join(raw_text(node).split())

    blocks: list[tuple[str, str]] = []  # (kind, markdown line)
    inline: list[str] = []

    def flush() -> None:
        t = " ".join("".join(inline).split())
        inline.clear()
        if t:
            blocks.append(("p", t))

    root = soup.body or soup
    main = soup.find("main") or soup.find(attrs={"role": "main"})
    if main is None:
        articles = soup.find_all("article")
        main = articles[0] if len(articles) == 1 else None
    if main is not None and text_of(main):
        root = main

    flush_marker = object()
    # An explicit stack rather than recursion: deeply nested markup must not hit the recursion limit.
    stack: list = [root]
    while stack:
        node = stack.pop()
        if node is flush_marker:
            flush()
            continue
        if not isinstance(node, Tag):
            if is_text(node):
                inline.append(str(node))
            continue
        name = (node.name or "").lower()
        if name in _HEADINGS:
            flush()
            t = text_of(node)
            if t:
                blocks.append(("h", "#" * _HEADINGS[name] + " " + t))
        elif name == "table":
            flush()
            blocks.extend(_table_blocks(node, text_of))
        elif name == "li":
            flush()
            nested = [c for c in node.children if isinstance(c, Tag) and c.name in _LISTS]
            nested_ids = {id(c) for c in nested}  # identity: bs4 Tags compare equal by content
            t = " ".join("".join(raw_text(c) for c in node.children if id(c) not in nested_ids).split())
            if t:
                blocks.append(("li", "- " + t))
            stack.append(flush_marker)
            stack.extend(reversed(nested))
        elif name in _PARAGRAPHS:
            flush()
            t = text_of(node)
            if t:
                blocks.append(("p", t))
        elif name in _INLINE:
            stack.extend(reversed(list(node.children)))
        else:  # block containers: div, section, body, ul, ...
            flush()
            stack.append(flush_marker)
            stack.extend(reversed(list(node.children)))
    flush()

    out: list[str] = []
    prev = None
    for kind, line in blocks:
        if out:
            # Consecutive list items form one list, table lines one table, a caption sits on the
            # line above its table and notes on the line below; everything else is a paragraph.
            tight = (kind == "li" and prev == "li") or (kind in ("tr", "tfoot") and prev in ("caption", "tr"))
            out.append("\n" if tight else "\n\n")
        out.append(line)
        prev = kind
    return meta, "".join(out) + ("\n" if out else ""), hints


def _cell(text: str) -> str:
    return text.replace("|", "/").strip()


def _table_blocks(table, text_of) -> list[tuple[str, str]]:
    """One <table> -> [('caption', 'Table 4. ...'), ('tr', '| a | b |'), ..., ('tfoot', notes)]."""
    caption_tag = table.find("caption")
    caption = text_of(caption_tag) if caption_tag is not None else ""
    rows: list[list[str]] = []
    header_rows = 0
    carry: dict[int, tuple[str, int]] = {}  # column -> (text, rows still spanned)
    foot: list[str] = []
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue  # a nested table's row
        in_foot = tr.find_parent("tfoot") is not None and tr.find_parent("tfoot").find_parent("table") is table
        cells = [c for c in tr.find_all(["td", "th"]) if c.find_parent("tr") is tr]
        if in_foot:
            t = " ".join(text_of(c) for c in cells).strip()
            if t:
                foot.append(t)
            continue
        row: list[str] = []
        col = 0
        for c in cells:
            while col in carry:
                t, left = carry[col]
                row.append(t)
                carry[col] = (t, left - 1)
                if left - 1 <= 0:
                    del carry[col]
                col += 1
            t = _cell(text_of(c))
            try:
                span = max(1, min(int(c.get("colspan", 1)), 50))
            except (TypeError, ValueError):
                span = 1
            try:
                down = max(1, min(int(c.get("rowspan", 1)), 500))
            except (TypeError, ValueError):
                down = 1
            for k in range(span):
                row.append(t)
                if down > 1:
                    carry[col + k] = (t, down - 1)
            col += span
        while col in carry:
            t, left = carry[col]
            row.append(t)
            carry[col] = (t, left - 1)
            if left - 1 <= 0:
                del carry[col]
            col += 1
        if not any(row):
            continue
        is_head = (tr.find_parent("thead") is not None) or all(c.name == "th" for c in cells)
        if is_head and len(rows) == header_rows:
            header_rows += 1
        rows.append(row)
    if not rows:
        return [("p", caption)] if caption else []
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    if header_rows > 1:  # several header rows -> one, the labels of each column joined
        head = [" ".join(dict.fromkeys(x for x in col if x)) for col in zip(*rows[:header_rows])]
        rows = [head] + rows[header_rows:]
    out: list[tuple[str, str]] = []
    if caption:
        out.append(("caption", caption))
    out.append(("tr", "| " + " | ".join(rows[0]) + " |"))
    out.append(("tr", "|" + "---|" * width))
    for r in rows[1:]:
        out.append(("tr", "| " + " | ".join(r) + " |"))
    for t in foot:
        out.append(("tfoot", t))
    return out
