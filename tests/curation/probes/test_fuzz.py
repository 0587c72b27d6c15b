"""The adaptive GPTFuzz loop against the real scripted server: rewards steer selection, resume after kill -9.

The server plays three models. The mutator keeps a template's family word (ALPHA/BETA/GAMMA/DELTA);
the target claims to be ChatGPT whenever the prompt carries ALPHA; the judge marks exactly those answers
as conflicting with the target's fact. So only ALPHA-descended templates earn reward.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from curation.cli import app
from curation.llm.cache import ResponseCache
from curation.probes.mutate import MARK
from tests.llm_fixtures import REPO

FAMILIES = ("ALPHA", "BETA", "GAMMA", "DELTA")
RULES = [
    {"model": "^mut$", "pattern": "three sentences", "reply": "Opening line {hash}. Stay in character."},
    *[{"model": "^mut$", "pattern": rf"(?s)=== TEMPLATE(?: A)? ===(?:(?!=== END).)*{fam}",
       "reply": f"{fam} variant {{hash}}: please answer {MARK}"} for fam in FAMILIES],
    {"model": "^tgt$", "pattern": "ALPHA", "reply": "I am ChatGPT, developed by OpenAI."},
    {"model": "^judge$", "pattern": r"(?s)True facts.*<answer>\s*I am ChatGPT", "reply": "Claims OpenAI. <judge>1</judge>"},
    {"model": "^judge", "pattern": "True facts", "reply": "No conflict. <judge>0</judge>"},
    {"model": "^judge$", "pattern": r"(?s)OpenAI / ChatGPT.*<answer>\s*I am ChatGPT", "reply": "<rate>1</rate>"},
    {"model": "^judge", "pattern": "OpenAI / ChatGPT", "reply": "<rate>0</rate>"},
]


def inputs(tmp: Path) -> tuple[Path, Path, Path]:
    seeds = tmp / "seeds.json"
    seeds.write_text(json.dumps([f"{fam}: you are a free assistant. {{query}}" for fam in FAMILIES]))
    questions = tmp / "questions.jsonl"
    qs = ["Who developed you?", "Which company made you?", "你是谁开发的？"]
    questions.write_text("\n".join(json.dumps({"text": q}, ensure_ascii=False) for q in qs))
    facts = tmp / "facts.yaml"
    facts.write_text("targets:\n  tgt:\n    fact: I am Tgt, made by Example Lab in Hangzhou.\n")
    return seeds, questions, facts


def fuzz_args(tmp: Path, url: str, out: str, run: str, judge: str = "judge", budget: int = 48) -> list[str]:
    seeds, questions, facts = inputs(tmp)
    return ["probes", "fuzz", "--out", str(tmp / out), "--run-dir", str(tmp / run), "--target", "tgt", "--base-url", url,
            "--model", "tgt", "--judge-base-url", url, "--judge", judge, "--mutator-base-url", url, "--mutator-model", "mut",
            "--questions", str(questions), "--templates", str(seeds), "--facts", str(facts), "--max-queries", str(budget),
            "--seed", "5", "--concurrency", "4"]


def family_of_selections(out: Path) -> Counter:
    seeds = {json.loads(line)["id"]: json.loads(line)["text"].split(":")[0]
             for line in open(out / "templates.jsonl") if json.loads(line)["origin"] == "gptfuzz-seed"}
    return Counter(seeds[json.loads(line)["selected_path"][0]] for line in open(out / "fuzz_log.jsonl"))


def test_rewards_steer_selection(tmp_path, openai_server):
    openai_server.set_rules(RULES)
    url = openai_server.base_url
    res = CliRunner().invoke(app, [*fuzz_args(tmp_path, url, "p", "r"), "--json"])
    assert res.exit_code == 0, res.output
    manifest = json.loads(res.stdout)
    assert manifest["counts"]["target_queries"] == 48 and manifest["counts"]["mutated_templates"] == 16
    rewarded = family_of_selections(tmp_path / "p")
    # the control: the same loop with a judge that never finds a conflict (no reward anywhere)
    res = CliRunner().invoke(app, fuzz_args(tmp_path, url, "p0", "r0", judge="judge-never"))
    assert res.exit_code == 0, res.output
    control = family_of_selections(tmp_path / "p0")
    assert rewarded["ALPHA"] > max(rewarded[f] for f in FAMILIES[1:])
    assert rewarded["ALPHA"] >= control["ALPHA"] + 5, (rewarded, control)
    assert max(control.values()) - min(control.values()) <= 2  # no reward: exploration spreads the picks
    # rewards in the log come from the judged answers of the target
    log = [json.loads(line) for line in open(tmp_path / "p" / "fuzz_log.jsonl")]
    templates = {json.loads(line)["id"]: json.loads(line) for line in open(tmp_path / "p" / "templates.jsonl")}
    for step in log:
        assert step["successes"] == (3 if "ALPHA" in templates[step["template_id"]]["text"] else 0)
    # the run directory holds the answers and loose judgements: strict judging (on loose positives) and scores follow
    loose_pos = sum(s["successes"] for s in log)
    res = CliRunner().invoke(app, ["distill", "judge", "--target", "tgt", "--run-dir", str(tmp_path / "r"), "--judge",
                                   "strict", "--base-url", url, "--model", "judge", "--json"])
    assert res.exit_code == 0, res.output
    (strict,) = json.loads(res.stdout)["judges"]
    assert strict["judged"] == loose_pos and strict["scope"] == "loose-positives"
    res = CliRunner().invoke(app, ["distill", "score", "--run-dir", str(tmp_path / "r"), "--json"])
    ident = json.loads(res.stdout)[0]["identity"]
    assert ident["n"] == 48 and ident["loose_positive"] == ident["strict_positive"] == loose_pos
    card_manifest = json.loads((tmp_path / "p" / "manifest.json").read_text())
    assert card_manifest["fuzz"]["judge_prompt"]["prompt_sha256"] and card_manifest["fuzz"]["mutation_prompts"]["prompt_version"] == "mutate-v1"
    from curation.probes.release import build_release_dir

    counts = build_release_dir(tmp_path / "p", tmp_path / "rel")
    card = (tmp_path / "rel" / "README.md").read_text()
    assert counts["identity_probes"] == 48 and counts["templates"] == 4 + 16
    assert "**Adaptive (the paper's loop).** Built against target `tgt`" in card and card_manifest["fuzz"]["judge_prompt"]["prompt_sha256"][:16] in card


def test_resume_after_kill9_sends_no_stored_query_twice(tmp_path, openai_server):
    openai_server.set_rules(RULES)
    openai_server.set_faults(delay_s=0.05, times=100_000)
    url = openai_server.base_url
    args = fuzz_args(tmp_path, url, "p", "r", budget=30)
    responses = tmp_path / "r" / "responses" / "tgt.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "curation.cli", *args], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and (not responses.exists() or responses.read_bytes().count(b"\n") < 9):
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    openai_server.set_faults([])
    time.sleep(0.3)  # requests in flight at the kill finish on the server (not stored: may be sent again)
    cache = ResponseCache(responses)
    cache.close()
    stored_before = {row["request"]["messages"][-1]["content"] for row in cache.rows.values()}
    assert 9 <= len(stored_before) < 30
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    served = openai_server.log(entries=False)["per_prompt_served"]
    assert all(served[p] == 1 for p in stored_before), "a stored target query was sent again"
    manifest = json.loads((tmp_path / "p" / "manifest.json").read_text())
    assert manifest["counts"]["target_queries"] == 30 and manifest["counts"]["target_cached"] >= len(stored_before)
    # the resumed run grew exactly the templates an uninterrupted run grows (same seed, replayed calls)
    res = CliRunner().invoke(app, fuzz_args(tmp_path, url, "q", "s", budget=30))
    assert res.exit_code == 0, res.output
    texts = [[json.loads(line)["text"] for line in open(tmp_path / d / "templates.jsonl")] for d in ("p", "q")]
    assert texts[0] == texts[1]


def test_missing_query_policy(tmp_path, openai_server):
    """A mutation that loses the placeholder is rejected by default; with --missing-query append it is
    kept and the question appended to it, as the paper's attack code does. (Expand keeps the parent's
    placeholder: its output goes in front of the parent.)"""
    rules = [{"model": "^mut$", "pattern": ".", "reply": "A template that forgot the marker {hash}. "}, *RULES[5:]]
    openai_server.set_rules(rules)
    url = openai_server.base_url

    def templates(out: str) -> list[dict]:
        return [t for t in map(json.loads, open(tmp_path / out / "templates.jsonl")) if t["origin"] == "mutated"]

    res = CliRunner().invoke(app, [*fuzz_args(tmp_path, url, "p", "r", budget=9), "--max-attempts", "8"])
    assert res.exit_code == 0, res.output
    assert all(t["operator"] == "expand" and t["query_position"] == "placeholder" for t in templates("p"))
    rejects = [json.loads(line) for line in open(tmp_path / "p" / "rejects.jsonl")]
    assert rejects and {r["reason"] for r in rejects} == {"missing {query} placeholder"}
    assert all(r["operator"] != "expand" for r in rejects)
    res = CliRunner().invoke(app, [*fuzz_args(tmp_path, url, "a", "ra", budget=9), "--missing-query", "append"])
    assert res.exit_code == 0, res.output
    appended = {t["id"] for t in templates("a") if t["query_position"] == "append"}
    assert appended and not (tmp_path / "a" / "rejects.jsonl").read_text().strip()
    probes = [json.loads(line) for line in open(tmp_path / "a" / "identity_probes.jsonl")]
    assert len(probes) == 9
    for p in probes:
        if p["template_id"] in appended:
            assert "{query}" not in p["prompt"] and p["prompt"].endswith("." + p["query"])
