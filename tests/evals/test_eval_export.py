"""Ragas and DeepEval exports of a test set."""

from __future__ import annotations

import json

import pytest

from core.errors import ConfigError
from evals.cli import EXIT_ERROR, EXIT_OK, cli_main, export_command, run_command
from evals.export import deepeval_goldens, export_set, ragas_samples
from evals.schema import parse_lines

LINES = [
    {"id": "single", "category": "core", "question": "max tizanidine dose?",
     "expect": {"facts": [["36 mg", "36mg"]], "sources": ["ms-spasticity"], "must_cite": True}, "notes": "narrow"},
    {"id": "multi", "category": "follow_up", "question": "and if NSAIDs are contraindicated?", "audience": "clinician",
     "conversation": [{"role": "user", "content": "MS back pain - best approach?"},
                      {"role": "assistant", "content": "NSAIDs first for the musculoskeletal part."}],
     "expect": {"facts": [["acetaminophen", "paracetamol"]], "escalate": False}},
    {"id": "oos", "category": "out_of_scope", "question": "What is the capital of France?",
     "expect": {"out_of_scope": True}},
]


@pytest.fixture
def cases():
    return parse_lines([json.dumps(x) for x in LINES])


@pytest.fixture
def set_file(tmp_path):
    p = tmp_path / "mini.jsonl"
    p.write_text("".join(json.dumps(x) + "\n" for x in LINES), encoding="utf-8")
    return p


def test_ragas_single_and_multi_turn_samples(cases):
    single, multi = ragas_samples(cases)
    assert [s["user_input"] for s in single] == ["max tizanidine dose?", "What is the capital of France?"]
    assert single[0]["reference_context_ids"] == ["ms-spasticity"]
    assert "'36 mg' or '36mg'" in single[0]["reference"]
    assert "does not cover" in single[1]["reference"]
    assert "response" not in single[0]
    (m,) = multi
    assert [x["type"] for x in m["user_input"]] == ["human", "ai", "human"]
    assert m["user_input"][-1]["content"] == "and if NSAIDs are contraindicated?"
    assert "Does not escalate" in m["reference"]


def test_deepeval_goldens_and_conversational_goldens(cases):
    goldens, conv = deepeval_goldens(cases)
    assert [g["input"] for g in goldens] == ["max tizanidine dose?", "What is the capital of France?"]
    assert goldens[0]["additional_metadata"]["id"] == "single"
    assert goldens[0]["additional_metadata"]["expect"]["sources"] == ["ms-spasticity"]
    assert goldens[0]["comments"] == "narrow" and "36 mg" in goldens[0]["expected_output"]
    (c,) = conv
    assert c["scenario"].endswith("and if NSAIDs are contraindicated?")
    assert [t["role"] for t in c["turns"]] == ["user", "assistant", "user"]
    assert "acetaminophen" in c["expected_outcome"] and c["additional_metadata"]["category"] == "follow_up"


def test_files_written_in_each_frameworks_format(tmp_path, cases):
    written = export_set(cases, "ragas", tmp_path, stem="mini")
    assert [(p.name, n) for p, n in written] == [("mini.ragas_single_turn.jsonl", 2), ("mini.ragas_multi_turn.jsonl", 1)]
    rows = [json.loads(l) for l in written[0][0].read_text(encoding="utf-8").splitlines()]
    assert rows[0]["user_input"] == "max tizanidine dose?"

    written = export_set(cases, "deepeval", tmp_path, stem="mini")
    assert [p.name for p, _ in written] == ["mini.deepeval_goldens.json", "mini.deepeval_conversational_goldens.json"]
    data = json.loads(written[0][0].read_text(encoding="utf-8"))
    assert isinstance(data, list) and data[0]["input"] == "max tizanidine dose?"

    written = export_set(cases, "deepeval", tmp_path / "l", stem="mini", file_format="jsonl")
    assert len(written[0][0].read_text(encoding="utf-8").splitlines()) == 2


def test_unknown_format_is_refused(tmp_path, cases):
    with pytest.raises(ConfigError, match="unknown export format 'trulens'"):
        export_set(cases, "trulens", tmp_path)


def test_export_from_a_run_fills_answers_and_contexts(tmp_path, set_file, build, chunks):
    answers = {
        "max tizanidine dose?": build("q", [("The maximum dose of tizanidine is 36 mg per day.", [chunks["spas"]])]),
        "and if NSAIDs are contraindicated?": build("q", [("Acetaminophen is an alternative.", [chunks["para"]])]),
        "What is the capital of France?": build("q", out_of_scope=True),
    }
    gates = tmp_path / "g.yaml"
    gates.write_text("gates:\n  - {metric: errors, max: 0}\n")
    assert run_command(set_file, tmp_path / "run", None, False, gates_path=gates, show_progress=False,
                       answer_fn=lambda q, history=(), audience="clinician", settings=None: answers[q]) == EXIT_OK

    assert export_command(set_file, "ragas", tmp_path / "ex", run_dir=tmp_path / "run") == EXIT_OK
    single = [json.loads(l) for l in (tmp_path / "ex" / "mini.ragas_single_turn.jsonl").read_text().splitlines()]
    assert "36 mg" in single[0]["response"]
    assert single[0]["retrieved_contexts"] == [chunks["spas"].text]
    assert single[1]["retrieved_contexts"] == []
    multi = json.loads((tmp_path / "ex" / "mini.ragas_multi_turn.jsonl").read_text().splitlines()[0])
    assert multi["user_input"][-1]["type"] == "ai" and "Acetaminophen" in multi["user_input"][-1]["content"]

    assert export_command(set_file, "deepeval", tmp_path / "ex", run_dir=tmp_path / "run") == EXIT_OK
    goldens = json.loads((tmp_path / "ex" / "mini.deepeval_goldens.json").read_text())
    assert "36 mg" in goldens[0]["actual_output"] and goldens[0]["retrieval_context"] == [chunks["spas"].text]


def test_cli_export_subcommand(tmp_path, set_file, capsys):
    assert cli_main(["export", "--format", "deepeval", str(set_file), "--out", str(tmp_path / "o")]) == EXIT_OK
    assert "wrote 2 rows" in capsys.readouterr().out
    assert (tmp_path / "o" / "mini.deepeval_goldens.json").is_file()


def test_export_of_a_malformed_set_exits_two(tmp_path, capsys):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"id": "x"}\n')
    assert export_command(p, "ragas", tmp_path) == EXIT_ERROR
    assert "line 1" in capsys.readouterr().err
