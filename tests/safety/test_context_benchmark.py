"""The context engine on the public ConText/NegEx development half (``bench/context.py``).

The data lives outside the repository (``../shared/data/context/dev.tsv``, or the file named by
``GUIDELINE_CONTEXT_DATA``). Without it this test fails: the quality floors of the context
engine are part of the product's safety case, so a missing file must not pass silently.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_context", ROOT / "bench" / "context.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


bench = _bench()


@pytest.fixture(scope="module")
def rows():
    path = bench.DEFAULT_DATA
    assert path.is_file(), (f"{path} is missing: the ConText/NegEx development half is needed to check "
                            f"the context engine (set GUIDELINE_CONTEXT_DATA to its path)")
    return bench.load_rows(path)


@pytest.fixture(scope="module")
def predictions(rows):
    return bench.engine_predict([r for r in rows if r.start >= 0])


def test_the_development_file_is_the_expected_one(rows):
    usable = [r for r in rows if r.start >= 0]
    assert len(rows) == 1188 and len(usable) >= 1180
    assert sum(r.gold[0] for r in usable) > 200  # negated rows


def test_context_engine_meets_its_targets_on_the_development_file(rows, predictions):
    scores = bench.score([r for r in rows if r.start >= 0], predictions)
    failed = []
    for context, (p, r, f1) in bench.TARGETS.items():
        s = scores[context]
        if s.precision < p or s.recall < r or s.f1 < f1:
            failed.append(f"{context}: P {s.precision:.3f} R {s.recall:.3f} F1 {s.f1:.3f} "
                          f"(needs P >= {p}, R >= {r}, F1 >= {f1})")
    assert not failed, "; ".join(failed)


def test_benchmark_writes_one_line_per_usable_row(rows, tmp_path, capsys):
    out = tmp_path / "pred.tsv"
    assert bench.main(["--data", str(bench.DEFAULT_DATA), "--out", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["line", "negated", "historical", "hypothetical", "other"]
    body = [ln.split("\t") for ln in lines[1:]]
    assert len(body) == sum(r.start >= 0 for r in rows)
    assert all(len(f) == 5 and set(f[1:]) <= {"0", "1"} for f in body)
    printed = capsys.readouterr().out
    assert "context engine, tune" in printed and "context engine, check" in printed


def test_a_malformed_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("line\tCondition\tsentence\tneg\ttemp\texp\n1\tedema\tNo edema.\tMaybe\tRecent\tPatient\n",
                   encoding="utf-8")
    with pytest.raises(bench.DataError, match="negation status 'Maybe'"):
        bench.load_rows(bad)
    with pytest.raises(bench.DataError, match="no such file"):
        bench.load_rows(tmp_path / "absent.tsv")
