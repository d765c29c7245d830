"""Brand and other names of the drugs the policy cares about, from a maintained drug-name library.

The policy lists drug classes by generic name (``drug_classes`` in policy.yaml: the drugs that
make someone immunosuppressed, on long-term steroids or treated for osteoporosis, and the
opioids). Their brand names and synonyms come from the ``drug-named-entity-recognition`` package
(MIT; DrugBank, MeSH, NHS and MedlinePlus names), not from a hand list. They are written once
into ``drug_names.yaml`` beside the policy so that checking a conversation needs no 3-second
library load and the names a reviewer approves are the names in force:

    python -m assistant.safety.drug_names            # rewrite drug_names.yaml
    python -m assistant.safety.drug_names --check    # exit 1 if it is out of date

The file records the hash of the class lists it was made from; the policy refuses to load a file
made from other lists (regenerate after editing ``drug_classes``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

import yaml

from core.errors import ConfigError

DEFAULT_FILE = Path(__file__).with_name("drug_names.yaml")
# A usable name: letters (and inner spaces, hyphens, apostrophes), no digits or commas: chemical
# names, salts and codes ("2-cda", "idec-c2b8", "hydrochloride, mitoxantrone") are left out.
_NAME = re.compile(r"^[a-z][a-z' -]*[a-z]$")


def classes_hash(classes: dict) -> str:
    return hashlib.sha256(json.dumps(classes, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def _library():
    from drug_named_entity_recognition import drugs_finder

    if not drugs_finder.drug_canonical_to_data:
        drugs_finder.reset_drugs_data()
    return drugs_finder


def synonyms(generic: str, exclude: set[str], lib=None) -> list[str]:
    """The library's names for ``generic`` that are safe to match as words."""
    lib = lib or _library()
    data = lib.drug_canonical_to_data.get(generic.lower()) or {}
    out = []
    for name in data.get("synonyms", []):
        n = " ".join(name.lower().split())
        if n == generic.lower() or n in exclude or not _NAME.match(n) or len(n) < 5 or len(n.split()) > 3:
            continue
        if n.endswith(("um", "ona", "ina")) and " " not in n:  # Latin/Spanish INN spellings
            continue
        out.append(n)
    return sorted(dict.fromkeys(out))


def generate(classes: dict, exclude: list[str]) -> dict:
    lib = _library()
    try:
        from importlib.metadata import version

        lib_version = version("drug-named-entity-recognition")
    except Exception:  # noqa: BLE001 - the version is informative only
        lib_version = "unknown"
    ex = {e.lower() for e in exclude}
    names: dict[str, dict[str, list[str]]] = {}
    missing: list[str] = []
    for target, generics in classes.items():
        names[target] = {}
        for g in generics:
            if g.lower() not in lib.drug_canonical_to_data:
                missing.append(g)
            names[target][g] = synonyms(g, ex, lib)
    return {"library": "drug-named-entity-recognition", "library_version": lib_version,
            "classes_hash": classes_hash({"classes": classes, "exclude": sorted(ex)}),
            "not_in_library": sorted(missing), "names": names}


def load_names(path: Path, classes: dict, exclude: list[str]) -> dict[str, list[str]]:
    """target -> extra phrases (generic names and their synonyms), checked against the lists."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except OSError:
        raise ConfigError(f"safety policy: drug-name file {path} is missing; run "
                          "`python -m assistant.safety.drug_names`") from None
    want = classes_hash({"classes": classes, "exclude": sorted(e.lower() for e in exclude)})
    if not isinstance(data, dict) or data.get("classes_hash") != want:
        raise ConfigError(f"safety policy: {path.name} was made from other drug_classes; run "
                          "`python -m assistant.safety.drug_names` to regenerate it")
    out: dict[str, list[str]] = {}
    for target, by_generic in (data.get("names") or {}).items():
        phrases: list[str] = []
        for g, syns in by_generic.items():
            phrases.append(g.lower())
            phrases.extend(syns)
        out[target] = list(dict.fromkeys(phrases))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m assistant.safety.drug_names", description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if drug_names.yaml is out of date")
    ap.add_argument("--policy", type=Path, default=Path(__file__).with_name("policy.yaml"))
    args = ap.parse_args(argv)
    raw = yaml.safe_load(args.policy.read_text(encoding="utf-8"))
    dc = raw.get("drug_classes") or {}
    data = generate(dc.get("classes") or {}, dc.get("exclude") or [])
    target = args.policy.with_name(dc.get("file", DEFAULT_FILE.name))
    text = ("# Generated by `python -m assistant.safety.drug_names` from the policy's drug_classes and the\n"
            "# drug-named-entity-recognition library. Do not edit by hand: edit drug_classes (generic names,\n"
            "# exclusions) in policy.yaml and regenerate.\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is out of date: run python -m assistant.safety.drug_names", file=sys.stderr)
            return 1
        print(f"{target} is up to date")
        return 0
    target.write_text(text, encoding="utf-8")
    total = sum(len(v) for g in data["names"].values() for v in g.values())
    print(f"wrote {target}: {total} names; not in the library: {', '.join(data['not_in_library']) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
