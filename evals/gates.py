"""Regression gates: thresholds from ``evals/gates.yaml`` checked against a run's metrics.

A gates file can never switch a gate off by accident: a metric name that the evaluation
does not produce (``pass_rat``) is refused, naming the file and line, and so is any
unknown key. ``fail_on_regression: true`` in the file (or ``--fail-on-regression``) makes a
comparison fail when a case that passed in the compared run fails now.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError

DEFAULT_GATES = Path(__file__).resolve().parent / "gates.yaml"
TOP_KEYS = ("version", "gates", "fail_on_regression")


class GatesFileError(ConfigError):
    """A gates file is unusable: names the file, the line and the field."""

    def __init__(self, path: str, line: int | None, field: str | None, message: str):
        self.path = path
        self.line = line
        self.field = field
        super().__init__(message)


_KNOWN = object()


def known_metrics() -> frozenset:
    """Every metric name a run's summary.json holds (what a gate may name)."""
    from .metrics import compute

    return frozenset(compute([])["metrics"])


@dataclass(frozen=True)
class GateConfig:
    gates: tuple
    fail_on_regression: bool = False


@dataclass(frozen=True)
class Gate:
    metric: str
    op: str
    """'min' (value >= threshold) or 'max' (value <= threshold)."""
    threshold: float
    why: str = ""

    def describe(self) -> str:
        return f"{'≥' if self.op == 'min' else '≤'} {self.threshold:g}"


@dataclass(frozen=True)
class GateResult:
    gate: Gate
    value: float | None
    status: str
    """'met', 'not met' or 'no data'."""

    def to_json(self) -> dict:
        return {"metric": self.gate.metric, "op": self.gate.op, "threshold": self.gate.threshold,
                "value": self.value, "status": self.status, "why": self.gate.why}


def _suggest(word: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_config(data, *, source: str = "gates", known_metrics=None, lines: dict | None = None
                 ) -> GateConfig:
    """Validate the YAML structure; every problem names the gate, the field and (given the
    ``lines`` map from ``_line_map``) the line."""
    lines = lines or {}

    def fail(msg: str, key=None, field: str | None = None):
        line = lines.get(key)
        where = f"{source}, line {line}" if line else source
        raise GatesFileError(source, line, field, f"{where}: {msg}")

    if not isinstance(data, dict) or not isinstance(data.get("gates"), list):
        fail("expected a mapping with a 'gates' list", field="gates")
    unknown_top = sorted(set(data) - set(TOP_KEYS))
    if unknown_top:
        k = unknown_top[0]
        fail(f"unknown key(s) {', '.join(unknown_top)}{_suggest(k, TOP_KEYS)}", ("top", k), k)
    far = data.get("fail_on_regression", False)
    if not isinstance(far, bool):
        fail(f"'fail_on_regression' must be true or false, got {far!r}", ("top", "fail_on_regression"),
             "fail_on_regression")
    gates: list[Gate] = []
    for i, g in enumerate(data["gates"], 1):
        where = f"gate {i}"
        if not isinstance(g, dict):
            fail(f"{where}: must be a mapping", (i, None), f"gates[{i - 1}]")
        extra = sorted(set(g) - {"metric", "min", "max", "why"})
        if extra:
            fail(f"{where}: unknown key(s) {', '.join(extra)}{_suggest(extra[0], ('metric', 'min', 'max', 'why'))}",
                 (i, extra[0]), f"gates[{i - 1}].{extra[0]}")
        metric = g.get("metric")
        if not isinstance(metric, str) or not metric:
            fail(f"{where}: 'metric' must be a metric name", (i, "metric"), f"gates[{i - 1}].metric")
        if known_metrics is not None and metric not in known_metrics:
            fail(f"{where}: unknown metric {metric!r}{_suggest(metric, known_metrics)}; a gate on a metric "
                 "the evaluation never produces could never fail", (i, "metric"), f"gates[{i - 1}].metric")
        ops = [k for k in ("min", "max") if k in g]
        if len(ops) != 1:
            fail(f"{where} ({metric}): give exactly one of 'min' or 'max'", (i, None), f"gates[{i - 1}]")
        value = g[ops[0]]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail(f"{where} ({metric}): '{ops[0]}' must be a number, got {value!r}", (i, ops[0]),
                 f"gates[{i - 1}].{ops[0]}")
        gates.append(Gate(metric, ops[0], float(value), str(g.get("why", ""))))
    return GateConfig(tuple(gates), far)


def parse_gates(data, *, source: str = "gates", known_metrics=None) -> tuple[Gate, ...]:
    return parse_config(data, source=source, known_metrics=known_metrics).gates


def _line_map(text: str) -> dict:
    """(gate number, key) / ("top", key) -> 1-based line, from the YAML node marks."""
    import yaml

    out: dict = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return out
    if not isinstance(root, yaml.MappingNode):
        return out
    for k, v in root.value:
        out[("top", k.value)] = k.start_mark.line + 1
        if k.value == "gates" and isinstance(v, yaml.SequenceNode):
            for i, item in enumerate(v.value, 1):
                out[(i, None)] = item.start_mark.line + 1
                if isinstance(item, yaml.MappingNode):
                    for gk, gv in item.value:
                        out[(i, gk.value)] = gk.start_mark.line + 1
    return out


def load_config(path: str | Path | None = None, *, known_metrics=_KNOWN) -> GateConfig:
    """Read and validate a gates file. Metric names are checked against the metrics a run
    produces unless ``known_metrics=None`` is passed."""
    import yaml

    p = Path(path) if path else DEFAULT_GATES
    if known_metrics is _KNOWN:
        known_metrics = known_metrics_cached()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GatesFileError(str(p), None, None, f"gates file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise GatesFileError(str(p), None, None, f"{p}: cannot read gates file ({e})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise GatesFileError(str(p), line, None, f"{p}: not valid YAML ({e})") from None
    return parse_config(data, source=str(p), known_metrics=known_metrics, lines=_line_map(text))


def load_gates(path: str | Path | None = None, *, known_metrics=_KNOWN) -> tuple[Gate, ...]:
    return load_config(path, known_metrics=known_metrics).gates


_known_cache: frozenset | None = None


def known_metrics_cached() -> frozenset:
    global _known_cache
    if _known_cache is None:
        _known_cache = known_metrics()
    return _known_cache


def evaluate_gates(gates, metrics: dict) -> tuple[GateResult, ...]:
    out = []
    for g in gates:
        v = metrics.get(g.metric)
        if v is None:
            out.append(GateResult(g, None, "no data"))
            continue
        ok = v >= g.threshold - 1e-12 if g.op == "min" else v <= g.threshold + 1e-12
        out.append(GateResult(g, float(v), "met" if ok else "not met"))
    return tuple(out)


def gates_passed(results) -> bool:
    return all(r.status != "not met" for r in results)
