"""Dependencies point down: ``ui`` -> ``evals`` -> ``assistant`` -> ``ingest`` -> ``core``.

A package may import any package below it (``ui`` uses ``ingest`` directly) and none above it;
``core`` imports no package of ours, and every layer imports ``Settings`` and the errors from it.
Imports inside functions count: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("core", "ingest", "assistant", "evals", "ui")
"""Bottom first."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(path: Path) -> list[tuple[str, int]]:
    """Absolute names of every module ``path`` imports (relative imports resolved), with lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.module or "", node.lineno))
                continue
            base = package.split(".")
            if node.level - 1 >= len(base):
                found.append(("<relative import above the top-level package>", node.lineno))
                continue
            base = base[: len(base) - (node.level - 1)]
            found.append((".".join(base + ([node.module] if node.module else [])), node.lineno))
    return found


def _violations(layer: str) -> list[str]:
    allowed = set(LAYERS[: LAYERS.index(layer) + 1])
    forbidden = (set(LAYERS) | {"bench", "tests"}) - allowed
    bad = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for module, line in _imported_modules(path):
            top = module.split(".")[0]
            if top in forbidden or module.startswith("<"):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_layers_below_it(layer):
    assert (ROOT / layer / "__init__.py").is_file()
    assert _violations(layer) == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The checker itself: an upward import, relative or absolute, eager or lazy, is reported."""
    pkg = tmp_path / "ingest"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from ..settings import X\n")
    (pkg / "sub" / "mod.py").write_text("import os\n\ndef f():\n    from assistant.pipeline import answer\n")
    (pkg / "ok.py").write_text("from core.errors import ConfigError\nfrom . import sub\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _violations("ingest") == ["ingest/sub/mod.py:4 imports assistant.pipeline"]
    assert _imported_modules(pkg / "sub" / "__init__.py") == [("ingest.settings", 1)]
    assert _imported_modules(pkg / "ok.py") == [("core.errors", 1), ("ingest", 2)]


def test_settings_and_errors_live_only_in_core():
    for layer in LAYERS[1:]:
        for old in ("settings.py", "errors.py"):
            assert not (ROOT / layer / old).exists(), f"{layer}/{old}: Settings and errors live in core/"


def test_importing_core_loads_no_other_package_of_ours():
    code = (
        "import sys\n"
        "import core, core.settings, core.errors\n"
        "core.settings.load_settings()\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {LAYERS[1:]!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]"
