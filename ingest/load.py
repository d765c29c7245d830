"""Guideline files -> SourceDoc.

One loader per format (Markdown, plain text, HTML, PDF). Every problem with a
file becomes a ``FileError`` naming the file (relative to the corpus) and a
specific reason; no third-party exception escapes. pypdf and bs4 are imported
inside the functions that use them so that importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from core.errors import FileError
from .parse.meta import (
    DATE_FIELDS,
    FIELDS,
    first_heading,
    is_sidecar,
    parse_date,
    sidecar_for,
    slug_id,
    stated_date,
    stated_version,
)
from .records import STATUSES, SourceDoc

if TYPE_CHECKING:
    from core.settings import Settings

FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
SUPPORTED_EXTENSIONS = tuple(FORMATS)

ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,79}")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

# Where HTML and PDF files carry each front matter field.
HTML_META = {f"guideline:{f}": f for f in FIELDS}
PDF_META = {
    "/GuidelineId": "id",
    "/Title": "title",
    "/GuidelineVersion": "version",
    "/GuidelineStatus": "status",
    "/GuidelineLastReviewed": "last_reviewed",
    "/GuidelineSources": "sources",
}

PARSE_CACHE = "parse-cache"
"""Under the data dir: parsed PDFs by content hash (a 140-page PDF takes a minute to lay out)."""

# C0 controls other than tab, newline, carriage return and form feed, plus DEL.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


# --------------------------------------------------------------------------- entry points


def load_file(path: Path, corpus_dir: Path, settings: Settings) -> SourceDoc:
    """Load one guideline file as it is; raise FileError naming it and the reason.

    Missing metadata is derived and reported in ``SourceDoc.warnings``; a
    ``NAME.meta.yaml`` sidecar beside the file overrides the file's own metadata.
    """
    path = Path(path)
    rel = relative_name(path, corpus_dir)
    ext = path.suffix.lower()
    fmt = FORMATS.get(ext)
    if fmt is None:
        raise FileError(rel, _unsupported(ext))

    raw = _read_bytes(path, rel, settings.max_file_bytes)
    sidecar = sidecar_for(path)
    side_raw = _read_bytes(sidecar, relative_name(sidecar, corpus_dir), 1_000_000) if sidecar else b""
    content_hash = source_hash(raw, side_raw)

    hints: dict[str, Any] = {}
    if fmt == "pdf":
        given, names, text, hints = _load_pdf(raw, rel, cache_dir=settings.data_dir / PARSE_CACHE)
    else:
        decoded = decode_text(raw, rel)
        if fmt == "html":
            given, names, text, hints = _load_html(decoded, rel)
        else:
            given, names, text = _load_front_matter_text(decoded, rel)

    if not text.strip():
        where = "in the HTML body" if fmt == "html" else "after the front matter"
        raise FileError(rel, f"no guideline text {where}")

    values, extra, warnings = check_fields(given, rel, key_names=names, where="front matter")
    origin = {f: "front matter" for f in values}
    if sidecar is not None:
        side_rel = relative_name(sidecar, corpus_dir)
        side_given = parse_front_matter(decode_text(side_raw, side_rel), side_rel, first_line=1)
        side_values, side_extra, side_warnings = check_fields(side_given, side_rel, where="sidecar")
        values.update(side_values)
        extra.update(side_extra)
        warnings.extend(side_warnings)
        origin.update({f: "sidecar" for f in side_values})
    derived, how = derive_meta(values, extra, text, hints, path, rel, settings)
    for f in FIELDS:
        if f not in values:
            values[f] = derived[f]
            origin[f] = f"derived: {how[f]}"
            warnings.append(f"no '{f}' given; using {_show(derived[f])} ({how[f]})")
    try:
        return SourceDoc(
            doc_id=values["id"],
            title=values["title"],
            version=values["version"],
            status=values["status"],
            last_reviewed=values["last_reviewed"],
            sources=values["sources"],
            path=rel,
            fmt=fmt,
            text=text,
            content_hash=content_hash,
            warnings=tuple(warnings),
            extra=extra,
            origin=origin,
        )
    except ValueError as e:  # SourceDoc's own invariants; validated above, kept as a backstop
        raise FileError(rel, str(e)) from None


def source_hash(raw: bytes, sidecar_raw: bytes = b"") -> str:
    """Hash of a file's bytes and its sidecar's: the file's own SHA-256 when it has none."""
    h = hashlib.sha256(raw)
    if sidecar_raw:
        h.update(b"\0sidecar\0" + sidecar_raw)
    return h.hexdigest()


def file_hash(path: Path) -> str:
    """``source_hash`` of a corpus file as it is on disk (its sidecar included)."""
    path = Path(path)
    side = sidecar_for(path)
    return source_hash(path.read_bytes(), side.read_bytes() if side else b"")


def _show(v: Any) -> str:
    if isinstance(v, tuple):
        return "; ".join(v)
    return f"'{v}'"


def derive_meta(values: dict[str, Any], extra: dict[str, Any], text: str, hints: dict[str, Any],
                path: Path, rel: str, settings: Settings) -> tuple[dict[str, Any], dict[str, str]]:
    """Every field derived from the document itself (used only where nothing was given)."""
    out: dict[str, Any] = {}
    how: dict[str, str] = {}
    out["id"], how["id"] = slug_id(Path(rel).stem), "from the file name"
    title = first_heading(text)
    if title:
        out["title"], how["title"] = title, "the document's first heading"
    elif hints.get("title"):
        out["title"], how["title"] = hints["title"], "the document's metadata"
    else:
        out["title"], how["title"] = Path(rel).stem.replace("_", " ").replace("-", " "), "from the file name"
    reviewed = None
    for key in DATE_FIELDS:
        if key in extra and isinstance(extra[key], str):
            reviewed = parse_date(extra[key])
            if reviewed:
                how["last_reviewed"] = f"the '{key}' field"
                break
    if reviewed is None:
        reviewed = stated_date(text)
        if reviewed:
            how["last_reviewed"] = "a date the document states"
    if reviewed is None and hints.get("date"):
        reviewed = hints["date"]
        how["last_reviewed"] = "the document's metadata"
    if reviewed is None:
        try:
            reviewed = date.fromtimestamp(Path(path).stat().st_mtime)
        except OSError:
            reviewed = date.today()
        reviewed = min(reviewed, date.today())
        how["last_reviewed"] = "the file's date"
    out["last_reviewed"] = reviewed.isoformat()
    version = extra.get("version_number") if isinstance(extra.get("version_number"), str) else None
    version = version or stated_version(text) or hints.get("version")
    out["version"], how["version"] = (version, "stated in the document") if version else ("1", "default")
    out["status"], how["status"] = settings.default_status, "GUIDELINE_DEFAULT_STATUS"
    who = hints.get("author") or extra.get("author") or extra.get("publisher")
    who = who if isinstance(who, str) and who.strip() else None
    src = ", ".join(x for x in (who, values.get("title") or out["title"], str(reviewed.year)) if x)
    out["sources"], how["sources"] = (src,), "the document itself"
    return out, how


def iter_corpus_files(corpus_dir: Path) -> list[Path]:
    """Guideline files under ``corpus_dir`` with a supported extension, sorted."""
    return [p for p in _candidate_files(corpus_dir) if p.suffix.lower() in FORMATS and not is_sidecar(p)]


def load_corpus(corpus_dir: Path, settings: Settings, progress=None) -> tuple[list[SourceDoc], list[FileError]]:
    """Load every file of the corpus, collecting all errors rather than stopping at the first.
    ``progress(files done, files)``, when given, is called before the first file and after each."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        return [], [FileError(str(corpus_dir), "corpus directory does not exist")]

    docs: list[SourceDoc] = []
    errors: list[FileError] = []
    seen: dict[str, str] = {}  # doc id -> path of the first file that used it
    files = _candidate_files(corpus_dir)
    if progress:
        progress(0, len(files))
    for i, path in enumerate(files, 1):
        if progress and i > 1:
            progress(i - 1, len(files))
        try:
            doc = load_file(path, corpus_dir, settings)
        except FileError as e:
            errors.append(e)
            continue
        if doc.doc_id in seen:
            errors.append(FileError(doc.path, f"duplicate id '{doc.doc_id}' (also in {seen[doc.doc_id]})"))
            continue
        seen[doc.doc_id] = doc.path
        docs.append(doc)
    if progress:
        progress(len(files), len(files))
    return docs, errors


def relative_name(path: Path, corpus_dir: Path) -> str:
    """The file's name relative to the corpus directory (POSIX style), for messages and ids."""
    path, corpus_dir = Path(path), Path(corpus_dir)
    for p, c in ((path, corpus_dir), (path.resolve(), corpus_dir.resolve())):
        try:
            return p.relative_to(c).as_posix()
        except ValueError:
            pass
    return path.as_posix()


# --------------------------------------------------------------------------- files and bytes


def _candidate_files(corpus_dir: Path) -> list[Path]:
    """Every non-hidden file under the corpus, except a README.md at its root."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        return []
    found = []
    for p in corpus_dir.rglob("*"):
        rel = p.relative_to(corpus_dir)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if len(rel.parts) == 1 and rel.name.lower() == "readme.md":
            continue  # documents the corpus format; not a guideline
        if p.is_file() and not is_sidecar(p):  # NAME.meta.yaml belongs to NAME
            found.append(p)
    return sorted(found, key=lambda p: p.relative_to(corpus_dir).as_posix())


def _unsupported(ext: str) -> str:
    supported = ", ".join(SUPPORTED_EXTENSIONS)
    if not ext:
        return f"unsupported file type (no extension); supported: {supported}"
    return f"unsupported file type '{ext}'; supported: {supported}"


def _read_bytes(path: Path, rel: str, limit: int) -> bytes:
    try:
        if not path.is_file():
            raise FileError(rel, "not a regular file")
        size = path.stat().st_size
        # Checked before reading so a huge file is never pulled into memory.
        if size > limit:
            raise FileError(rel, f"file is {size} bytes; the limit is {limit}")
        raw = path.read_bytes()
    except OSError as e:
        raise FileError(rel, f"could not be read ({e.strerror or type(e).__name__})") from None
    if len(raw) > limit:  # grew between stat and read
        raise FileError(rel, f"file is {len(raw)} bytes; the limit is {limit}")
    if not raw:
        raise FileError(rel, "empty file")
    return raw


def decode_text(raw: bytes, rel: str) -> str:
    """UTF-8 bytes -> text with '\\n' line endings; binary and wrong encodings refused."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _fail(rel, f"not valid UTF-8 (byte 0x{raw[0]:02x} at offset 0; the file looks like UTF-16)")
    if b"\x00" in raw:
        return _fail(rel, "binary file (not text)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return _fail(rel, f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})")
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    controls = _CONTROL_RE.findall(text)
    if len(controls) > max(8, len(text) // 100):
        return _fail(rel, "binary file (not text)")
    if controls:
        m = _CONTROL_RE.search(text)
        line = text.count("\n", 0, m.start()) + 1
        return _fail(rel, f"control character U+{ord(m.group()):04X} on line {line}")
    if not text.strip():
        return _fail(rel, "empty file")
    return text


def _fail(rel: str, reason: str):
    raise FileError(rel, reason)


def _short(e: BaseException, limit: int = 160) -> str:
    msg = " ".join(str(e).split()) or type(e).__name__
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."


# --------------------------------------------------------------------------- front matter


class _FrontMatterLoader(getattr(yaml, "CBaseLoader", yaml.BaseLoader)):  # libyaml: ~10x faster
    """Every scalar stays a string (no 1.10 -> 1.1, no 'no' -> False); duplicate keys and tags refused."""

    _R = yaml.resolver.BaseResolver
    _PLAIN_TAGS = (_R.DEFAULT_SCALAR_TAG, _R.DEFAULT_SEQUENCE_TAG, _R.DEFAULT_MAPPING_TAG)

    def construct_object(self, node, deep=False):
        # BaseLoader would quietly ignore '!!python/object' and friends; say so instead.
        if node.tag not in self._PLAIN_TAGS:
            raise yaml.constructor.ConstructorError(
                None, None, f"tag '{node.tag}' is not allowed", node.start_mark
            )
        return super().construct_object(node, deep=deep)

    def construct_scalar(self, node):
        value = super().construct_scalar(node)
        # An unquoted ~ / null is YAML's "no value"; a quoted "null" stays text.
        if not node.style and value in ("~", "null", "Null", "NULL"):  # plain: None (Python) or "" (libyaml)
            return None
        return value

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"field '{key}' appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def split_front_matter(text: str, rel: str) -> tuple[str, str]:
    """``---`` block at the very top -> (YAML text, body after the closing line)."""
    first, sep, rest = text.partition("\n")
    if first.rstrip() != "---":
        raise FileError(rel, "no front matter (a --- block at the top)")
    pos = 0
    while pos <= len(rest):
        end = rest.find("\n", pos)
        line = rest[pos:] if end == -1 else rest[pos:end]
        if line.rstrip() in ("---", "..."):
            body = "" if end == -1 else rest[end + 1 :]
            return rest[:pos], body
        if end == -1:
            break
        pos = end + 1
    raise FileError(rel, "front matter: no closing '---' line")


def parse_front_matter(block: str, rel: str, first_line: int = 2) -> dict[str, Any]:
    """YAML text -> mapping. ``first_line`` is the file line the block starts on (for messages)."""
    try:
        data = yaml.load(block, Loader=_FrontMatterLoader)  # noqa: S506 - BaseLoader builds only str/list/dict
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {first_line + mark.line}: " if mark is not None else ""
        problem = e.problem or e.context or "syntax error"
        raise FileError(rel, f"front matter: invalid YAML ({where}{problem})") from None
    except Exception as e:  # ReaderError, RecursionError on absurd nesting, ...
        raise FileError(rel, f"front matter: invalid YAML ({_short(e)})") from None
    if data is None:
        raise FileError(rel, "front matter: the --- block is empty; expected " + ", ".join(FIELDS))
    if not isinstance(data, dict):
        raise FileError(rel, f"front matter: expected 'field: value' lines, got {_kind(data)}")
    return data


def check_fields(meta: dict[str, Any], rel: str, *, key_names: dict[str, str] | None = None,
                 where: str = "front matter") -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Check and normalise the fields that are present -> (values, extra, warnings).

    A present but invalid field is an error (every one found goes into one FileError);
    a missing field is left for ``derive_meta``; an unknown field is kept in ``extra``
    and named in a warning. ``key_names`` maps each field to how the file spells it
    (e.g. ``guideline:version``) so messages point at what the author wrote.
    """
    names = key_names or {}

    def label(field: str) -> str:
        return f"'{field}'" if field not in names else f"'{field}' ({names[field]})"

    problems: list[str] = []
    warnings: list[str] = []
    out: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in meta.items():
        if key in FIELDS:
            continue
        extra[str(key)] = value
        warnings.append(f"{where}: unknown field '{key}' kept as extra metadata")
    for field in FIELDS:
        if field not in meta:
            continue
        try:
            out[field] = _FIELD_CHECKS[field](meta[field])
        except ValueError as e:
            problems.append(f"{where}: field {label(field)} {e}")
    if problems:
        raise FileError(rel, "; ".join(problems))
    return out, extra, warnings


def validate_meta(meta: dict[str, Any], rel: str, *, key_names: dict[str, str] | None = None) -> dict[str, Any]:
    """The strict check (all six fields, nothing else), for callers that need complete metadata."""
    names = key_names or {}
    missing = [f"front matter: missing field '{f}'" + (f" ({names[f]})" if f in names else "")
               for f in FIELDS if f not in meta]
    unknown = [f"front matter: unknown field '{k}'" for k in meta if k not in FIELDS]
    try:
        out, _, _ = check_fields(meta, rel, key_names=key_names)
    except FileError as e:
        raise FileError(rel, "; ".join([*missing, *unknown, e.reason])) from None
    if missing or unknown:
        raise FileError(rel, "; ".join(missing + unknown))
    return out


def _kind(v: Any) -> str:
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return f"a {type(v).__name__}"


def _text_field(v: Any) -> str:
    if isinstance(v, (date, datetime)):
        v = v.isoformat()
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        v = str(v)
    if v is None:
        raise ValueError("is empty")
    if not isinstance(v, str):
        raise ValueError(f"must be text, got {_kind(v)}")
    v = v.strip()
    if not v:
        raise ValueError("is empty")
    if "\n" in v:
        raise ValueError("must be a single line")
    return v


def _check_id(v: Any) -> str:
    v = _text_field(v)
    if not ID_RE.fullmatch(v):
        raise ValueError(
            f"is '{v}'; expected lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit, at most 80 characters"
        )
    return v


def _check_status(v: Any) -> str:
    v = _text_field(v)
    if v not in STATUSES:
        raise ValueError(f"is '{v}'; expected one of {', '.join(STATUSES)}")
    return v


def _check_date(v: Any) -> str:
    if isinstance(v, datetime):
        raise ValueError(f"is '{v.isoformat()}'; expected a date YYYY-MM-DD without a time")
    if isinstance(v, date):
        d = v
    else:
        s = _text_field(v)
        if not DATE_RE.fullmatch(s):
            raise ValueError(f"is '{s}'; expected a date YYYY-MM-DD")
        try:
            d = date.fromisoformat(s)
        except ValueError:
            raise ValueError(f"is '{s}', which is not a real date") from None
    if d > date.today():
        raise ValueError(f"is {d.isoformat()}, which is in the future")
    return d.isoformat()


def _check_sources(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list):
        raise ValueError(f"must be a list of sources, got {_kind(v)}")
    if not v:
        raise ValueError("is an empty list; name at least one source")
    out = []
    for i, item in enumerate(v, 1):
        try:
            out.append(_text_field(item))
        except ValueError as e:
            raise ValueError(f"item {i} {e}") from None
    return tuple(out)


_FIELD_CHECKS = {
    "id": _check_id,
    "title": _text_field,
    "version": _text_field,
    "status": _check_status,
    "last_reviewed": _check_date,
    "sources": _check_sources,
}


# --------------------------------------------------------------------------- Markdown and text


def _load_front_matter_text(text: str, rel: str) -> tuple[dict[str, Any], dict[str, str], str]:
    """-> (fields as written, how the file spells them, body). No front matter: the whole text."""
    if text.partition("\n")[0].rstrip() != "---":
        return {}, {}, text
    block, body = split_front_matter(text, rel)
    # The body is everything after the closing '---' line, verbatim, so chunk
    # offsets index SourceDoc.text exactly.
    return parse_front_matter(block, rel), {}, body


# --------------------------------------------------------------------------- HTML

def _load_html(text: str, rel: str) -> tuple[dict[str, Any], dict[str, str], str, dict[str, Any]]:
    """-> (guideline: fields, their spelling, Markdown body, hints for derived metadata)."""
    try:
        meta_raw, body, hints = _parse_html(text)
    except FileError:
        raise
    except Exception as e:  # bs4 / html.parser on hostile markup
        raise FileError(rel, f"HTML could not be parsed ({_short(e)})") from None
    meta: dict[str, Any] = {}
    problems = []
    for name, content in meta_raw:
        key = HTML_META.get(name, name)
        if key in meta:
            problems.append(f"front matter: field '{key}' ({name}) appears twice")
            continue
        meta[key] = [s.strip() for s in content.split(";") if s.strip()] if key == "sources" else content
    if problems:
        raise FileError(rel, "; ".join(problems))
    return meta, {f: f"guideline:{f}" for f in FIELDS}, body, hints


def _parse_html(text: str):
    from .parse.html import parse_html

    return parse_html(text)


# --------------------------------------------------------------------------- PDF


def _load_pdf(raw: bytes, rel: str, cache_dir: Path | None = None
              ) -> tuple[dict[str, Any], dict[str, str], str, dict[str, Any]]:
    """-> (/Guideline* fields or a text front matter, their spelling, Markdown body, hints)."""
    if b"%PDF-" not in raw[:1024]:
        raise FileError(rel, "PDF could not be read: no %PDF header (not a PDF file)")
    info = _read_pdf(raw, rel)
    from .parse.pdf import cached_parse_pdf

    try:
        parsed = cached_parse_pdf(raw, cache_dir)
    except FileError:
        raise
    except Exception as e:  # pdfminer / pdfplumber raise many types on damaged files
        raise FileError(rel, f"PDF could not be read: {_short(e)}") from None
    text = _CONTROL_RE.sub("", parsed.markdown).strip("\n")
    if not text.strip() and parsed.front_matter is None:
        raise FileError(rel, "no text layer (scanned PDF?)")

    hints: dict[str, Any] = {}
    title = info.get("/Title", "").strip()
    if title:
        hints["title"] = " ".join(title.replace("_", " ").split())
    if info.get("/Author", "").strip():
        hints["author"] = info["/Author"].strip()
    for key in ("/ModDate", "/CreationDate"):
        m = re.match(r"D:(\d{4})(\d{2})(\d{2})", info.get(key, ""))
        if m:
            try:
                d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                continue
            if d <= date.today():
                hints["date"] = d
                break

    names = {f: k for k, f in PDF_META.items()}
    guideline_keys = {k: v for k, v in info.items() if k.startswith("/Guideline")}
    meta: dict[str, Any] = {}
    if guideline_keys:
        for key, value in info.items():
            if key in PDF_META:
                field = PDF_META[key]
                meta[field] = [s.strip() for s in value.split(";") if s.strip()] if field == "sources" else value
            elif key.startswith("/Guideline"):
                meta[key] = value  # unknown: kept as extra metadata
    elif parsed.front_matter is not None:
        meta = parse_front_matter(parsed.front_matter, rel)
        names = {}
    return meta, names, (text + "\n") if text.strip() else "", hints


def _read_pdf(raw: bytes, rel: str) -> dict[str, str]:
    """The document-information fields; refuses encrypted and unreadable files."""
    import logging

    from pypdf import PdfReader

    # pypdf logs every recoverable oddity of a damaged file; we report our own error instead.
    pypdf_log = logging.getLogger("pypdf")
    old_level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception:
                opened = 0
            if not opened:
                raise FileError(rel, "PDF could not be read: it is encrypted")
        info: dict[str, str] = {}
        doc_info = reader.metadata
        if doc_info is not None:
            for key in list(doc_info.keys()):
                value = doc_info[key]
                if isinstance(value, bytes):
                    value = value.decode("utf-8", "replace")
                info[str(key)] = str(value)
        if len(reader.pages) == 0:
            raise FileError(rel, "PDF could not be read: it has no pages")
    except FileError:
        raise
    except Exception as e:  # pypdf raises many types (PdfReadError, KeyError, ValueError, RecursionError...)
        raise FileError(rel, f"PDF could not be read: {_short(e)}") from None
    finally:
        pypdf_log.setLevel(old_level)
    return info
