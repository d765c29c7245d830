"""Regression gates: thresholds from ``evals/gates.yaml`` checked against a run's metrics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest.errors import ConfigError

DEFAULT_GATES = Path(__file__).resolve().parent / "gates.yaml"


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


def parse_gates(data, *, source: str = "gates", known_metrics=None) -> tuple[Gate, ...]:
    """Validate the YAML structure; every problem names the gate and the field."""
    if not isinstance(data, dict) or not isinstance(data.get("gates"), list):
        raise ConfigError(f"{source}: expected a mapping with a 'gates' list")
    unknown_top = set(data) - {"version", "gates"}
    if unknown_top:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(sorted(unknown_top))}")
    gates: list[Gate] = []
    for i, g in enumerate(data["gates"], 1):
        where = f"{source}: gate {i}"
        if not isinstance(g, dict):
            raise ConfigError(f"{where}: must be a mapping")
        extra = set(g) - {"metric", "min", "max", "why"}
        if extra:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
        metric = g.get("metric")
        if not isinstance(metric, str) or not metric:
            raise ConfigError(f"{where}: 'metric' must be a metric name")
        if known_metrics is not None and metric not in known_metrics:
            raise ConfigError(f"{where}: unknown metric {metric!r}")
        ops = [k for k in ("min", "max") if k in g]
        if len(ops) != 1:
            raise ConfigError(f"{where} ({metric}): give exactly one of 'min' or 'max'")
        value = g[ops[0]]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} ({metric}): '{ops[0]}' must be a number, got {value!r}")
        gates.append(Gate(metric, ops[0], float(value), str(g.get("why", ""))))
    return tuple(gates)


def load_gates(path: str | Path | None = None, *, known_metrics=None) -> tuple[Gate, ...]:
    import yaml

    p = Path(path) if path else DEFAULT_GATES
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"gates file not found: {p}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML ({e})") from None
    return parse_gates(data, source=str(p), known_metrics=known_metrics)


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
