"""Scores recomputed from the paper's real released deepseek-chat files (never typed in)."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from curation.cli import app
from curation.distill.import_paper import PaperFiles, discover, import_paper, target_from_name
from curation.distill.store import RunStore


@pytest.fixture(scope="module")
def paper_dir(samples_dir):
    return samples_dir / "distill"


def test_reproduces_published_scores(paper_dir, tmp_path):
    (files,) = discover(paper_dir)
    assert files.target == "deepseek-chat" and files.loose_csv and files.strict_csv
    result = import_paper(files, tmp_path / "run")
    s = result.scores
    assert s["n"] == 1000  # denominator from the rows, not hard-coded
    assert round(s["loose"], 3) == 0.339
    assert round(s["strict"], 3) == 0.219
    assert round(s["hard"], 3) == 0.070
    assert result.published == {"loose": 0.34, "strict": 0.22}
    assert result.warnings == []
    stored = json.loads((tmp_path / "run" / "scores" / "deepseek-chat.json").read_text())
    assert stored["identity"]["strict_positive"] == 219
    # the stored judgements alone give the same scores again
    store = RunStore(tmp_path / "run")
    assert sum(j.verdict for j in store.judgements("deepseek-chat", "strict")) == 219
    assert len(store.responses("deepseek-chat")) == 1000


def test_detects_strict_file_copied_from_loose(paper_dir, tmp_path):
    shutil.copy(paper_dir / "attack_result__gpt_GPT_deepseek-chat.jsonl", tmp_path / "attack_result__gpt_GPT_m.jsonl")
    shutil.copy(paper_dir / "loose_score__GPT_deepseek-chat_0.34.csv", tmp_path / "loose_score__GPT_m_0.50.csv")
    shutil.copy(paper_dir / "loose_score__GPT_deepseek-chat_0.34.csv", tmp_path / "strict_score__GPT_m_0.22.csv")
    (files,) = discover(tmp_path)
    result = import_paper(files, tmp_path / "run")
    text = " ".join(result.warnings)
    assert "copy of a loose file" in text
    assert "published loose 0.5" in text and result.scores["strict"] is None


def test_target_names():
    assert target_from_name("attack_result__gpt_GPT_deepseek-chat.jsonl") == "deepseek-chat"
    assert target_from_name("GPT_gemini-2.0-flash_0.24_in_1000.csv") == "gemini-2.0-flash"
    assert target_from_name("qwen2.5-14b_0.171.csv") == "qwen2.5-14b"


def test_cli_import_paper(paper_dir, tmp_path):
    res = CliRunner().invoke(app, ["distill", "import-paper", str(paper_dir), "--run-dir", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert "0.339" in res.output and "0.219" in res.output and "0.070" in res.output


def test_bad_file_named(tmp_path):
    bad = tmp_path / "attack_result__gpt_GPT_x.jsonl"
    bad.write_text('{"jailbreak_prompt": "a {query}", "query": "q", "target_responses": ["r"], "eval_results": true}\n{"oops": 1}\n')
    with pytest.raises(ValueError, match=r"attack_result__gpt_GPT_x.jsonl:2"):
        import_paper(PaperFiles(bad), tmp_path / "run")
