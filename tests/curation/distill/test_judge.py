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
