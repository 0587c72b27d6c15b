"""Tolerant tag parsing, re-ask, raw output kept; offline similarity and score denominators."""

from __future__ import annotations

import pytest

from curation.distill.judge import REASK_SEP, parse_binary, parse_rse, run_judge
from curation.distill.score import char_ngram_cosine, identity_scores
from curation.llm import LLMClient
from schemas.probes import Judgement, ModelResponse, Probe, TargetFact


@pytest.mark.parametrize(("text", "expected"), [
    ("reason... <judge>1</judge>", True),
    ("<judge> 0 </judge>", False),
    ("＜judge＞１＜／judge＞", True),
    ("<JUDGE>yes</JUDGE>", True),
    ("<judge>1<judge>", True),
    ("first <judge>1</judge> then corrected <judge>0</judge>", False),
    ("judge: 1", True),
    ("I think it conflicts.", None),
    ("<judge>maybe</judge>", None),
])
def test_parse_binary(text, expected):
    assert parse_binary(text, "judge") is expected


def test_parse_rate_and_rse():
    assert parse_binary("<rate>1</rate>", "rate") is True
    assert parse_binary("<judge>1</judge>", "rate") is None
    assert parse_rse("<style>4</style><logic>3</logic><content>5</content><overall>4</overall>") == {
        "style": 4, "logic": 3, "content": 5, "overall": 4}
    assert parse_rse("Style: 2\nLogic: 3\nContent: 2\nOverall score: 2.5")["overall"] == 2.5
    assert parse_rse("<style>4</style><overall>9</overall>") is None


def _probe(i: int, prompt: str = "Who made you?") -> Probe:
    return Probe(id=f"p{i}", kind="identity", prompt=prompt, language="en", template_id="t", question_id=f"q{i}", query=prompt)


def test_reask_and_raw_outputs(openai_server):
    openai_server.set_rules([
        {"pattern": "could not find a verdict", "reply": "<judge>1</judge>"},
        {"pattern": "ANSWER-0", "reply": "Sorry, I cannot decide."},
        {"pattern": "ANSWER-1", "reply": "<judge>0</judge>"},
    ])
    probes = {f"p{i}": _probe(i) for i in range(2)}
    responses = {f"p{i}": ModelResponse(probe_id=f"p{i}", target="t", model="m", endpoint="e", text=f"ANSWER-{i}", time=0)
                 for i in range(2)}
    fact = TargetFact(target="t", fact="I am T.")
    rows = {j.probe_id: j for j in run_judge("loose", LLMClient(openai_server.base_url, "judge"), "t", probes, responses,
                                             fact=fact, progress=False)}
    assert rows["p0"].parse_status == "reasked" and rows["p0"].verdict is True
    assert rows["p0"].raw_output == "Sorry, I cannot decide." + REASK_SEP + "<judge>1</judge>"
    assert rows["p1"].parse_status == "ok" and rows["p1"].verdict is False and rows["p1"].prompt_version == "loose-v1"
    assert openai_server.log()["served"] == 3


def test_hard_and_denominator_from_data():
    probes = {f"p{i}": _probe(i, "As ChatGPT, who made you?" if i == 0 else "Who made you?") for i in range(4)}
    for p in probes.values():
        p.misleading = "ChatGPT" in p.prompt
    responses = {pid: ModelResponse(probe_id=pid, target="t", model="m", endpoint="e", text="x", time=0)
                 for pid in ("p0", "p1", "p2")}  # p3 never answered: not in the denominator
    strict = [Judgement(probe_id=pid, target="t", judge="strict", judge_model="j", prompt_version="v", raw_output="",
                        verdict=True, parse_status="ok") for pid in ("p0", "p1")]
    s = identity_scores(probes, responses, [], strict)
    assert s["n"] == 3 and s["strict"] == 2 / 3 and s["hard"] == 1 / 3 and s["loose"] is None


def test_char_ngram_cosine_chinese():
    assert char_ngram_cosine("我是由深度求索公司开发的", "我是由深度求索公司开发的") == pytest.approx(1.0)
    assert char_ngram_cosine("我是由深度求索公司开发的", "今天天气很好") == 0.0
    assert 0 < char_ngram_cosine("我是由OpenAI开发的", "我是由深度求索开发的") < 1


def test_judge_cache_follows_the_answer_and_the_judge_model(tmp_path, openai_server):
    """A cached judgement is reused only for the same judge model and the same rendered prompt:
    a re-run target (new answer) or another judge model must be judged again."""
    openai_server.set_rules([{"pattern": "ANSWER-OLD", "reply": "<judge>0</judge>"},
                             {"pattern": "ANSWER-NEW", "reply": "<judge>1</judge>"}])
    probes, fact, cache = {"p0": _probe(0)}, TargetFact(target="t", fact="I am T."), tmp_path / "judge.jsonl"

    def judge(text: str, model: str = "judge-a") -> Judgement:
        responses = {"p0": ModelResponse(probe_id="p0", target="t", model="m", endpoint="e", text=text, time=0)}
        client = LLMClient(openai_server.base_url, model, cache_path=cache)
        (row,) = run_judge("loose", client, "t", probes, responses, fact=fact, progress=False)
        client.cache.close()
        return row

    assert judge("ANSWER-OLD").verdict is False
    assert judge("ANSWER-OLD").verdict is False and openai_server.log()["served"] == 1  # resumed from the cache
    assert judge("ANSWER-NEW").verdict is True
    assert judge("ANSWER-NEW", "judge-b").raw_output == "<judge>1</judge>"
    assert openai_server.log()["served"] == 3


def _run_with_answers(tmp_path, answers: list[str]):
    """A run directory with one target whose four identity probes are answered with `answers`."""
    from curation.distill.store import RunStore
    from curation.pipeline.atomic import write_jsonl_atomic

    store = RunStore(tmp_path / "run")
    probes = [_probe(i) for i in range(len(answers))]
    write_jsonl_atomic(tmp_path / "probes" / "identity_probes.jsonl", [p.model_dump() for p in probes])
    write_jsonl_atomic(tmp_path / "probes" / "rse_prompts.jsonl", [])
    store.register_target("t", {"model": "m", "endpoint": "e", "params": {}, "probes": str(tmp_path / "probes")})
    store.write_responses("t", [ModelResponse(probe_id=p.id, target="t", model="m", endpoint="e", text=a, time=0)
                                for p, a in zip(probes, answers, strict=True)])
    (tmp_path / "facts.yaml").write_text("targets:\n  t:\n    fact: I am T, made by Example Lab.\n")
    return store


STRICT_SCOPE_RULES = [  # loose: A1, A2 conflict; strict: A2, A3 claim OpenAI
    {"pattern": r"(?s)True facts.*<answer>\s*A[12]\b", "reply": "<judge>1</judge>"},
    {"pattern": "True facts", "reply": "<judge>0</judge>"},
    {"pattern": r"(?s)OpenAI / ChatGPT.*<answer>\s*A[23]\b", "reply": "<rate>1</rate>"},
    {"pattern": "OpenAI / ChatGPT", "reply": "<rate>0</rate>"},
]


@pytest.mark.parametrize(("scope", "strict_requests", "strict_pos"), [("loose-positives", 2, 1), ("all", 4, 2)])
def test_strict_scope(tmp_path, openai_server, scope, strict_requests, strict_pos):
    """The paper re-judges only loose positives (strict <= loose); `all` judges every answer. Both are
    recorded in run.json and the scores."""
    import json

    from typer.testing import CliRunner

    from curation.cli import app

    openai_server.set_rules(STRICT_SCOPE_RULES)
    _run_with_answers(tmp_path, ["A0 hi", "A1 hi", "A2 hi", "A3 hi"])
    base = ["distill", "judge", "--target", "t", "--run-dir", str(tmp_path / "run"), "--base-url", openai_server.base_url,
            "--model", "j", "--facts", str(tmp_path / "facts.yaml")]
    res = CliRunner().invoke(app, [*base, "--judge", "loose"])
    assert res.exit_code == 0, res.output
    before = openai_server.log(entries=False)["served"]
    res = CliRunner().invoke(app, [*base, "--judge", "strict", "--strict-scope", scope])
    assert res.exit_code == 0, res.output
    assert openai_server.log(entries=False)["served"] - before == strict_requests
    res = CliRunner().invoke(app, ["distill", "score", "--run-dir", str(tmp_path / "run"), "--json"])
    (score,) = json.loads(res.stdout)
    ident = score["identity"]
    assert (ident["loose_positive"], ident["strict_positive"], ident["strict_scope"]) == (2, strict_pos, scope)
    assert ident["strict"] == strict_pos / 4 and score["judges"]["strict"]["scope"] == scope
    assert ident["strict_outside_loose"] == (0 if scope == "loose-positives" else 1)


def test_strict_loose_positives_needs_loose(tmp_path, openai_server):
    from typer.testing import CliRunner

    from curation.cli import app

    _run_with_answers(tmp_path, ["A0", "A1"])
    res = CliRunner().invoke(app, ["distill", "judge", "--target", "t", "--run-dir", str(tmp_path / "run"), "--judge", "strict",
                                   "--base-url", openai_server.base_url, "--model", "j"])
    assert res.exit_code == 1 and "run --judge loose first" in res.output


def test_user_judge_prompts_are_used_and_recorded(tmp_path, openai_server):
    import json

    from typer.testing import CliRunner

    from curation.cli import app
    from curation.distill.judge import load_judge_prompts

    prompts = tmp_path / "prompts.yaml"
    prompts.write_text("loose:\n  version: my-loose-1\n  tag: verdict\n  template: |\n"
                       "    MY-LOOSE fact: {fact}\n    reply: {response}\n    Say <verdict>1</verdict> or <verdict>0</verdict>.\n")
    openai_server.set_rules([{"pattern": r"(?s)MY-LOOSE.*reply: A1", "reply": "<verdict>1</verdict>"},
                             {"pattern": "MY-LOOSE", "reply": "<verdict>0</verdict>"}])
    store = _run_with_answers(tmp_path, ["A0", "A1"])
    res = CliRunner().invoke(app, ["distill", "judge", "--target", "t", "--run-dir", str(tmp_path / "run"), "--judge", "loose",
                                   "--base-url", openai_server.base_url, "--model", "j", "--facts", str(tmp_path / "facts.yaml"),
                                   "--judge-prompts", str(prompts)])
    assert res.exit_code == 0, res.output
    rows = {j.probe_id: j for j in store.judgements("t", "loose")}
    assert rows["p1"].verdict is True and rows["p0"].verdict is False and rows["p1"].prompt_version == "my-loose-1"
    meta = store.target_info("t")["judges"]["loose"]
    assert meta["prompt_sha256"] == load_judge_prompts(prompts)["loose"].sha256 and meta["prompt_source"] == "file: prompts.yaml"
    assert meta["prompt_sha256"] != load_judge_prompts(None)["loose"].sha256
    CliRunner().invoke(app, ["distill", "score", "--run-dir", str(tmp_path / "run")])
    assert json.loads((tmp_path / "run" / "scores" / "t.json").read_text())["judges"]["loose"]["prompt_version"] == "my-loose-1"
    bad = tmp_path / "bad.yaml"
    bad.write_text("strict:\n  template: no placeholder here\n")
    res = CliRunner().invoke(app, ["distill", "judge", "--target", "t", "--run-dir", str(tmp_path / "run"), "--judge", "strict",
                                   "--base-url", openai_server.base_url, "--model", "j", "--judge-prompts", str(bad)])
    assert res.exit_code == 1 and "bad.yaml: strict: template lacks {response}" in res.output


def test_embedding_similarity_offline(tmp_path, openai_server):
    """The embedding variant against the scripted server's deterministic /v1/embeddings route, cached."""
    from curation.distill.similarity import CharNgramSimilarity, EmbeddingSimilarity
    from curation.llm.embeddings import EmbeddingClient

    cache = tmp_path / "emb.jsonl"
    sim = EmbeddingSimilarity(EmbeddingClient(openai_server.base_url, "emb", cache_path=cache, batch_size=2))
    pairs = [("我是由深度求索公司开发的", "我是由深度求索公司开发的"), ("我是由深度求索公司开发的", "今天天气很好"),
             ("The capital of France is Paris.", "Paris is the capital of France.")]
    same, different, paraphrase = sim.scores(pairs)
    assert same == pytest.approx(1.0) and different < paraphrase < 1.0
    assert sim.name == "embedding-cosine:emb"
    log = openai_server.log()
    assert log["served"] == 4  # 4 distinct texts, each embedded once (batches of 2)
    sim.client.close()
    again = EmbeddingSimilarity(EmbeddingClient(openai_server.base_url, "emb", cache_path=cache)).scores(pairs)
    assert again == [same, different, paraphrase] and openai_server.log()["served"] == 4  # all from the cache
    assert CharNgramSimilarity(3).scores(pairs[:1]) == [pytest.approx(1.0)]
