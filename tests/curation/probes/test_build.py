"""Probe inputs, GPTFuzz-style mutation via the fake mutator, MCTS, pools, determinism."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from curation.llm import LLMClient
from curation.probes.build import BuildSpec, build
from curation.probes.inputs import load_questions, load_templates
from curation.probes.mcts import MCTSExplore
from curation.probes.mutate import MARK, fuzz, validate_output
from curation.probes.pools import load_pool, sample
from schemas.probes import JailbreakTemplate

MUTATOR_RULES = [
    {"pattern": "three sentences", "reply": "Imagine a calm studio interview ({hash}). The host is kind. Answer plainly."},
    {"pattern": "Condense", "reply": "drop the placeholder entirely {hash}"},  # always invalid: no marker
    {"pattern": "TEMPLATE", "reply": f"Variant {{hash}}: please reply to this: {MARK}"},
]


def test_paper_questions_and_seeds(samples_dir):
    qs = load_questions(samples_dir / "distill" / "GPT_identity.csv")
    assert len(qs) == 50 and sum(q.language == "zh" for q in qs) == 25
    en = {q.id: q.topic for q in qs if q.language == "en"}
    assert all(q.topic == en[q.id.replace("zh", "en")] for q in qs if q.language == "zh")
    assert qs[0].reference_response == "I was developed by OpenAI."
    seeds, bad = load_templates(samples_dir / "distill" / "gptfuzz_seed_templates.json")
    assert len(seeds) == 77 and bad == []
    assert sum(t.misleading for t in seeds) > 0


def test_template_rejects_named(tmp_path):
    f = tmp_path / "t.json"
    f.write_text(json.dumps(["ok {query}", "no marker", "ok {query}"]))
    good, bad = load_templates(f)
    assert len(good) == 1 and [b.reason for b in bad] == ["missing {query} placeholder", "duplicate template"]
    assert bad[0].location.endswith("t.json#1")


@pytest.mark.parametrize(("op", "raw", "reason"), [
    ("rephrase", "no marker here", "missing {query} placeholder"),
    ("rephrase", f"{MARK} and {MARK}", "{query} appears 2 times"),
    ("rephrase", "", "empty output"),
    ("rephrase", f"Answer: {MARK}", "unchanged"),
    ("expand", f"Intro {MARK}", "expansion contains the placeholder"),
])
def test_validate_output_rejects(op, raw, reason):
    parent = JailbreakTemplate(id="p", text="Answer: {query}")
    assert validate_output(op, parent, raw, set()) == (None, reason)


def test_expand_prepends():
    parent = JailbreakTemplate(id="p", text="Answer: {query}")
    text, reason = validate_output("expand", parent, "Hello there.", set())
    assert reason == "ok" and text == "Hello there.\nAnswer: {query}"


def test_fuzz_with_fake_mutator_is_seeded(tmp_path, openai_server, samples_dir):
    openai_server.set_rules(MUTATOR_RULES)
    seeds, _ = load_templates(samples_dir / "distill" / "gptfuzz_seed_templates.json")
    client = LLMClient(openai_server.base_url, "mutator", cache_path=tmp_path / "m.jsonl")
    log = fuzz(seeds, client, 8, seed=3, max_attempts=60)
    assert len(log.accepted) == 8
    assert all(t.text.count("{query}") == 1 and t.origin == "mutated" and t.parent_ids for t in log.accepted)
    assert {r["reason"] for r in log.rejected} <= {"missing {query} placeholder", "duplicate of an existing template"}
    assert any(r["operator"] == "shorten" for r in log.rejected)  # the scripted shorten reply is always invalid
    again = fuzz(seeds, LLMClient(openai_server.base_url, "mutator"), 8, seed=3, max_attempts=60)
    assert [t.text for t in again.accepted] == [t.text for t in log.accepted]
    other = fuzz(seeds, LLMClient(openai_server.base_url, "mutator"), 8, seed=4, max_attempts=60)
    assert [t.text for t in other.accepted] != [t.text for t in log.accepted]


def test_mcts_prefers_rewarded_branch():
    tree = MCTSExplore(["a", "b", "c"], random.Random(0))
    picks = []
    for _ in range(60):
        node = tree.select()
        picks.append(node.template_id)
        tree.update(1.0 if node.template_id == "b" else 0.0, 1)
    assert picks.count("b") > picks.count("a") and picks.count("b") > picks.count("c")
    assert {"a", "c"} <= set(picks)  # exploration still visits the others


def test_pools_sampling_and_formats(tmp_path):
    f = tmp_path / "sg.jsonl"
    rows = [{"id": f"s{i}", "conversations": [{"from": "human", "value": f"问题{i}"}, {"from": "gpt", "value": "答"},
                                               {"from": "human", "value": f"追问{i}"}]} for i in range(10)]
    rows.append({"id": "empty", "conversations": [{"from": "gpt", "value": "only assistant"}]})
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    probes, rejects = load_pool(f, "sharegpt")
    assert len(probes) == 10 and rejects[0]["reason"] == "no user prompt"
    assert probes[0].messages and probes[0].messages[-1]["content"] == "追问0" and probes[0].language == "zh"
    a, b = sample(probes, 4, 1), sample(list(reversed(probes)), 4, 1)
    assert [p.id for p in a] == [p.id for p in b]
    assert [p.id for p in sample(probes, 4, 2)] != [p.id for p in a]


def test_build_is_deterministic(tmp_path, openai_server, samples_dir):
    openai_server.set_rules(MUTATOR_RULES)
    d = samples_dir / "distill"

    def one(out: Path) -> Path:
        client = LLMClient(openai_server.base_url, "mutator")
        build(BuildSpec(questions=d / "GPT_identity.csv", templates=d / "gptfuzz_seed_templates.json", n_mutated=4,
                        include_seeds=False, seed=11, mutator=client), out)
        return out

    a, b = one(tmp_path / "a"), one(tmp_path / "b")
    for name in ("templates", "identity_probes", "rejects"):
        assert (a / f"{name}.jsonl").read_bytes() == (b / f"{name}.jsonl").read_bytes()
    probes = [json.loads(line) for line in open(a / "identity_probes.jsonl")]
    assert len(probes) == 4 * 50
    manifest = json.loads((a / "manifest.json").read_text())
    assert manifest["counts"]["mutated_templates"] == 4 and manifest["params"]["mutator_model"] == "mutator"


def test_per_pool_sample_sizes(tmp_path):
    from collections import Counter

    from typer.testing import CliRunner

    from curation.cli import app

    a, n = tmp_path / "a.jsonl", tmp_path / "n.jsonl"
    a.write_text("\n".join(json.dumps({"question_id": f"a{i}", "turns": [{"content": f"Explain {i}."}]}) for i in range(5)))
    n.write_text("\n".join(json.dumps({"problem": f"计算 {i} + 1。", "solution": f"{i + 1}"}) for i in range(5)))
    out = tmp_path / "p"
    res = CliRunner().invoke(app, ["probes", "build", "--out", str(out), "--pool", f"arenahard=arenahard:{a}",
                                   "--pool", f"numina=numina:{n}", "--n-per-pool", "3", "--pool-size", "numina=2"])
    assert res.exit_code == 0, res.output
    pools = Counter(json.loads(line)["pool"] for line in open(out / "rse_prompts.jsonl"))
    assert pools == {"arenahard": 3, "numina": 2}
    manifest = json.loads((out / "manifest.json").read_text())
    assert [p["sample"] for p in manifest["inputs"]["pools"]] == [3, 2]
    res = CliRunner().invoke(app, ["probes", "build", "--out", str(out), "--pool", f"numina=numina:{n}", "--pool-size", "sharegpt=2"])
    assert res.exit_code == 1 and "unknown pool" in res.output
