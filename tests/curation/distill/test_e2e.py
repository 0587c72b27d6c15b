"""build -> run -> judge -> score -> report against the real fake-server process, through the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from curation.cli import app
from curation.distill.store import RunStore

JUDGE_RULES = [
    {"model": "^tgt$", "pattern": "开发|develop|creat|who|谁", "reply": "I am ChatGPT, developed by OpenAI."},
    {"model": "^judge$", "pattern": r"(?s)True facts.*<answer>\s*I am ChatGPT", "reply": "Claims OpenAI. <judge>1</judge>"},
    {"model": "^judge$", "pattern": r"(?s)True facts.*<question>\s*(Which model family)", "reply": "no tag here"},
    {"model": "^judge$", "pattern": "True facts", "reply": "No conflict. ＜judge＞ 0 ＜/judge＞"},
    {"model": "^judge$", "pattern": "could not find a verdict", "reply": "<judge>0</judge>"},
    {"model": "^judge$", "pattern": r"(?s)OpenAI / ChatGPT.*<answer>\s*I am ChatGPT", "reply": "<rate>1</rate>"},
    {"model": "^judge$", "pattern": "OpenAI / ChatGPT", "reply": "<rate>0</rate>"},
    {"model": "^judge$", "pattern": "Rate how similar", "reply": "<style>4</style><logic>3</logic><content>4</content><overall>4</overall>"},
]


def write_pools(d: Path) -> list[str]:
    d.mkdir()
    (d / "arena.jsonl").write_text("\n".join(json.dumps({"question_id": f"a{i}", "turns": [{"content": f"Explain topic {i}."}]})
                                             for i in range(4)))
    (d / "numina.jsonl").write_text("\n".join(json.dumps({"problem": f"计算 {i} + {i}。", "solution": f"答案是 {2 * i}。"})
                                              for i in range(4)))
    (d / "sharegpt.json").write_text(json.dumps([{"id": "s1", "conversations": [
        {"from": "human", "value": "你好"}, {"from": "gpt", "value": "你好！"}, {"from": "human", "value": "讲个笑话"},
        {"from": "gpt", "value": "从前有座山。"}]}], ensure_ascii=False))
    return [f"arenahard=arenahard:{d / 'arena.jsonl'}", f"numina=numina:{d / 'numina.jsonl'}",
            f"sharegpt=sharegpt:{d / 'sharegpt.json'}"]


def cli(*args: str) -> str:
    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res.output


def test_end_to_end(tmp_path, openai_server):
    openai_server.set_rules(JUDGE_RULES)
    pools = write_pools(tmp_path / "pools")
    probes, run = tmp_path / "probes", tmp_path / "run"
    cli("probes", "build", "--out", str(probes), *[a for p in pools for a in ("--pool", p)], "--n-per-pool", "3", "--seed", "7")
    n_identity = sum(1 for _ in open(probes / "identity_probes.jsonl"))
    assert n_identity == 4 * 10  # shipped: 4 templates x 10 questions
    openai_server.set_faults(status=429, times=3, retry_after=0)
    url = openai_server.base_url
    cli("distill", "run", "--target", "tgt", "--probes", str(probes), "--run-dir", str(run), "--base-url", url,
        "--model", "tgt", "--concurrency", "4")
    cli("distill", "run", "--target", "ref", "--probes", str(probes), "--run-dir", str(run), "--base-url", url,
        "--model", "ref", "--kind", "rse")
    served = openai_server.log()["served"]
    assert served == n_identity + 3 + 3 + 1 + 7  # identity + rse for tgt, rse for ref
    # re-running is free: everything comes from the store
    out = cli("distill", "run", "--target", "tgt", "--probes", str(probes), "--run-dir", str(run), "--base-url", url,
              "--model", "tgt")
    assert openai_server.log()["served"] == served and "cached" in out
    facts = tmp_path / "facts.yaml"
    facts.write_text("targets:\n  tgt:\n    fact: I am Tgt, made by Example Lab in Hangzhou.\n", encoding="utf-8")
    cli("distill", "judge", "--target", "tgt", "--run-dir", str(run), "--judge", "loose,strict,rse", "--base-url", url,
        "--model", "judge", "--reference", "ref", "--facts", str(facts))
    store = RunStore(run)
    loose = store.judgements("tgt", "loose")
    assert len(loose) == n_identity
    reasked = [j for j in loose if j.parse_status == "reasked"]
    assert reasked and all("<<<REASK>>>" in j.raw_output and j.verdict is False for j in reasked)
    # RSE needs an explicit reference; `dataset` uses the pools' own answers and names what it cannot score
    res = CliRunner().invoke(app, ["distill", "judge", "--target", "tgt", "--run-dir", str(run), "--judge", "rse",
                                   "--base-url", url, "--model", "judge"])
    assert res.exit_code == 1 and "needs an explicit reference" in res.output
    out = cli("distill", "judge", "--target", "tgt", "--run-dir", str(run), "--judge", "rse", "--base-url", url,
              "--model", "judge", "--reference", "dataset", "--json")
    (rse_ds,) = json.loads(out[out.index("{"):])["judges"]
    assert rse_ds["reference"] == "dataset" and rse_ds["no_reference"] == {"arenahard": 3} and rse_ds["judged"] == 3 + 1
    cli("distill", "judge", "--target", "tgt", "--run-dir", str(run), "--judge", "rse", "--base-url", url,
        "--model", "judge", "--reference", "ref")
    cli("distill", "score", "--run-dir", str(run), "--reference", "ref", "--similarity", "embedding",
        "--embed-base-url", url, "--embed-model", "emb")
    scores = json.loads((run / "scores" / "tgt.json").read_text())
    assert scores["similarity"]["method"] == "embedding-cosine:emb" and scores["similarity"]["reference"] == "ref"
    assert all(0 < p["cosine"] <= 1 for p in scores["similarity"]["pools"].values())
    assert scores["rse"]["reference"] == "ref" and scores["judges"]["strict"]["scope"] == "loose-positives"
    cli("distill", "score", "--run-dir", str(run), "--reference", "ref")
    scores = json.loads((run / "scores" / "tgt.json").read_text())
    ident = scores["identity"]
    probes_rows = [json.loads(line) for line in open(probes / "identity_probes.jsonl")]
    # expected counts derived from the data: the target claims ChatGPT whenever the rule matched its prompt
    import re

    claims = [p for p in probes_rows if re.search("开发|develop|creat|who|谁", p["prompt"])]
    assert ident["n"] == n_identity
    assert ident["loose_positive"] == ident["strict_positive"] == len(claims)
    assert ident["hard_positive"] == sum(1 for p in claims if not p["misleading"])
    assert abs(ident["strict"] - len(claims) / n_identity) < 1e-12
    assert scores["rse"]["pools"]["numina"]["overall"] == 4.0 and scores["rse"]["average"] == 4.0
    assert set(scores["similarity"]["pools"]) == {"arenahard", "numina", "sharegpt"}
    assert scores["similarity"]["method"] == "char-3gram-cosine"
    assert scores["usage"]["prompt_tokens"] > 0
    cli("distill", "report", "--run-dir", str(run), "--out", str(tmp_path / "report"))
    rows = list(csv.DictReader(open(tmp_path / "report" / "report.csv")))
    assert rows[0]["target"] == "tgt" and float(rows[0]["strict"]) == ident["strict"]
    from curation.distill.stats import wilson

    lo, hi = wilson(ident["strict_positive"], n_identity)
    assert float(rows[0]["strict_ci_low"]) == lo and float(rows[0]["strict_ci_high"]) == hi
    for name in ("report.png", "scatter.png"):
        png = (tmp_path / "report" / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    md = (tmp_path / "report" / "report.md").read_text()
    assert f"| tgt | {n_identity} |" in md and f"{ident['strict']:.3f} [{lo:.3f}, {hi:.3f}]" in md
    assert "1 targets plotted" in md and "scope=loose-positives" in md and "sha256 `" in md


def test_run_refuses_model_change(tmp_path, openai_server):
    probes, run = tmp_path / "probes", tmp_path / "run"
    cli("probes", "build", "--out", str(probes))
    base = ["distill", "run", "--target", "t", "--probes", str(probes), "--run-dir", str(run),
            "--base-url", openai_server.base_url, "--limit", "2"]
    cli(*base, "--model", "a")
    res = CliRunner().invoke(app, [*base, "--model", "b"])
    assert res.exit_code == 1 and "was run with model='a'" in res.output


def test_run_reports_bad_key_clearly(tmp_path, openai_server, monkeypatch):
    openai_server.set_api_key("good")
    monkeypatch.setenv("CQIA_LLM_API_KEY", "sk-bad-secret")
    probes = tmp_path / "probes"
    cli("probes", "build", "--out", str(probes))
    res = CliRunner().invoke(app, ["distill", "run", "--target", "t", "--probes", str(probes), "--run-dir", str(tmp_path / "r"),
                                   "--base-url", openai_server.base_url, "--model", "m"])
    assert res.exit_code == 2
    assert "API key" in res.output and "sk-bad-secret" not in res.output
    assert openai_server.log()["requests"] <= 8 + 1
