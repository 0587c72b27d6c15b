"""Scores recomputed from the paper's released files (never typed in).

Real data: the released deepseek-chat files in ../shared/samples/distill. The name variants, the
zero-row strict file, the strict file copied from loose and an unpaired file are hand-written minimal
imitations in tests/fixtures/distill_paper (its README says which released file each imitates).
Expected numbers below were counted by hand from those fixture rows.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curation.cli import app
from curation.distill.import_paper import (
    PaperFiles,
    discover,
    import_paper,
    match_key,
    render_prompt,
    target_from_name,
)
from curation.distill.store import RunStore

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "distill_paper"


@pytest.fixture(scope="module")
def paper_dir(samples_dir):
    return samples_dir / "distill"


def test_reproduces_published_scores(paper_dir, tmp_path):
    found = discover(paper_dir)
    (files,) = found.pairs
    assert files.target == "deepseek-chat" and files.loose_csv and files.strict_csv
    assert [u.path.name for u in found.unpaired] == ["GPT_identity.csv"]  # named, with why
    result = import_paper(files, tmp_path / "run")
    s = result.scores
    assert s["n"] == 1000  # denominator from the rows, not hard-coded
    assert round(s["loose"], 3) == 0.339
    assert round(s["strict"], 3) == 0.219
    assert round(s["hard"], 3) == 0.070
    assert s["strict_scope"] == "loose-positives"
    lo, hi = s["strict_ci95"]
    assert 0.19 < lo < 0.219 < hi < 0.25  # Wilson 95% at n=1000: about ±0.03
    assert result.published == {"loose": "0.34", "strict": "0.22"}
    assert result.warnings == []
    # every published figure for deepseek-chat (file names and the paper's Figure 2) agrees
    assert {(c["source"], c["metric"]) for c in result.comparison} >= {("paper Figure 2", "hard"), ("file name", "strict")}
    assert all(c["agrees"] for c in result.comparison)
    stored = json.loads((tmp_path / "run" / "scores" / "deepseek-chat.json").read_text())
    assert stored["identity"]["strict_positive"] == 219
    store = RunStore(tmp_path / "run")
    assert sum(j.verdict for j in store.judgements("deepseek-chat", "strict")) == 219
    assert len(store.responses("deepseek-chat")) == 1000
    # the question is appended where a released prompt has no {query} (Gptfuzzer_Identity.attack)
    probes = [json.loads(line) for line in open(store.probes_dir("deepseek-chat") / "identity_probes.jsonl")]
    no_placeholder = [p for p in probes if p["query"] not in p["prompt"]]
    assert no_placeholder == [] and result.query_appended == 500


def test_target_names():
    assert target_from_name("attack_result__gpt_GPT_deepseek-chat.jsonl") == "deepseek-chat"
    assert target_from_name("GPT_GPT_deepseek-r1.jsonl") == "deepseek-r1"  # not "GPT_deepseek-r1"
    assert target_from_name("gpt_GPT_Phi4.jsonl") == "Phi4"
    assert target_from_name("GPT_gemini-2.0-flash_0.24_in_1000.csv") == "gemini-2.0-flash"
    assert target_from_name("qwen2.5-14b_0.171.csv") == "qwen2.5-14b"
    assert match_key("Phi4") == match_key("phi-4")
    assert match_key("llama3.1-70b-instruct") == match_key("llama-3.1-70b-instruct")
    assert match_key("gemini-2.0-flash-exp") == match_key("gemini-2.0-flash")
    assert match_key("qwen2.5-14b") != match_key("qwen2.5-14b-instruct")
    assert render_prompt("You are ChatGPT now. Answer: ", "Who?") == "You are ChatGPT now. Answer: Who?"
    assert render_prompt("A {query} B", "Who?") == "A Who? B"


def test_lenient_pairing_reports_every_file():
    found = discover(FIXTURES)
    pairs = {p.target: p for p in found.pairs}
    assert set(pairs) == {"Phi4", "deepseek-r1", "llama3.1-70b-instruct", "gemini-2.0-flash-exp"}
    assert pairs["Phi4"].loose_csv.name == "GPT_phi-4_0.50.csv" and pairs["Phi4"].strict_csv.name == "GPT_phi-4_0.25.csv"
    assert "'phi-4' ~ 'Phi4'" in pairs["Phi4"].how["loose"]
    assert pairs["deepseek-r1"].strict_csv.name == "deepseek-r1_0.25.csv"
    assert pairs["llama3.1-70b-instruct"].strict_csv.name == "GPT_llama-3.1-70b-instruct_0.0.csv"
    assert pairs["gemini-2.0-flash-exp"].loose_csv.name == "GPT_gemini-2.0-flash_0.25_in_1000.csv"
    (unpaired,) = found.unpaired
    assert unpaired.path.name == "GPT_gemini-1.5-pro-flash_0.25.csv"
    assert "no attack_result for target 'gemini-1.5-pro-flash'" in unpaired.reason


def test_pairing_checks_rows_not_only_names(tmp_path):
    """A CSV named like an attack_result but holding another model's rows is not paired; a CSV
    whose name matches nothing is paired by its rows."""
    for sub in ("attack_result", "loose_score"):
        (tmp_path / sub).mkdir()
    shutil.copy(FIXTURES / "attack_result" / "gpt_GPT_Phi4.jsonl", tmp_path / "attack_result")
    shutil.copy(FIXTURES / "loose_score" / "GPT_deepseek-r1_0.50.csv", tmp_path / "loose_score" / "GPT_phi-4_0.50.csv")
    found = discover(tmp_path)
    assert found.pairs[0].loose_csv is None
    assert "its name matches gpt_GPT_Phi4.jsonl but 2 of 2 rows are not rows of that file" in found.unpaired[0].reason
    (tmp_path / "loose_score" / "GPT_phi-4_0.50.csv").unlink()
    shutil.copy(FIXTURES / "loose_score" / "GPT_phi-4_0.50.csv", tmp_path / "loose_score" / "GPT_microsoft-phi_0.50.csv")
    found = discover(tmp_path)
    assert found.pairs[0].loose_csv.name == "GPT_microsoft-phi_0.50.csv" and found.pairs[0].how["loose"].startswith("by content")


def test_fixture_scores_by_hand(tmp_path):
    run = tmp_path / "run"
    results = {r.target: r for r in (import_paper(p, run) for p in discover(FIXTURES).pairs)}
    phi = results["Phi4"].scores
    assert (phi["n"], phi["loose_positive"], phi["strict_positive"], phi["hard_positive"]) == (4, 2, 1, 1)
    r1 = results["deepseek-r1"].scores  # its only strict positive has "ChatGPT" in the prompt: hard 0
    assert (r1["loose"], r1["strict"], r1["hard"]) == (0.5, 0.25, 0.0)
    llama = results["llama3.1-70b-instruct"].scores  # header-only strict file: strict is 0, not missing
    assert (llama["loose"], llama["strict"], llama["hard"]) == (0.25, 0.0, 0.0)
    assert results["llama3.1-70b-instruct"].published == {"loose": "0.25", "strict": "0.0"}
    gem = results["gemini-2.0-flash-exp"]
    assert gem.scores["loose"] == 0.25 and gem.scores["strict"] is None and gem.scores["hard"] is None
    assert any("copy of a loose file" in w for w in gem.warnings)
    by_source = {(c["source"], c["metric"]): c for c in results["Phi4"].comparison}
    assert by_source[("file name", "loose")]["agrees"] and by_source[("file name", "strict")]["agrees"]
    assert by_source[("paper Figure 2", "loose")] == {**by_source[("paper Figure 2", "loose")], "published": "0.22",
                                                       "rounded": "0.50", "agrees": False}
    assert results["Phi4"].query_appended == 2
    prompts = {json.loads(line)["prompt"] for line in open(RunStore(run).probes_dir("Phi4") / "identity_probes.jsonl")}
    assert "You are ChatGPT now. Answer: 你是谁开发的？" in prompts


def test_several_imports_then_score_keep_every_target(tmp_path):
    """Importing several models into one run and scoring again gives every target its own probes
    (the stored probe list used to be overwritten: n=0 for all but the last)."""
    run = str(tmp_path / "run")
    res = CliRunner().invoke(app, ["distill", "import-paper", str(FIXTURES), "--run-dir", run])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["distill", "score", "--run-dir", run, "--json"])
    assert res.exit_code == 0, res.output
    scores = {s["target"]: s["identity"] for s in json.loads(res.stdout)}
    assert {t: s["n"] for t, s in scores.items()} == dict.fromkeys(
        ["Phi4", "deepseek-r1", "gemini-2.0-flash-exp", "llama3.1-70b-instruct"], 4)
    assert scores["llama3.1-70b-instruct"]["strict"] == 0.0 and scores["gemini-2.0-flash-exp"]["strict"] is None
    assert scores["Phi4"]["strict_scope"] == "loose-positives"


def test_cli_import_paper_json_and_full_names(tmp_path):
    runner = CliRunner(env={"COLUMNS": "50"})
    res = runner.invoke(app, ["distill", "import-paper", str(FIXTURES), "--run-dir", str(tmp_path / "r"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert {t["target"] for t in data["targets"]} == {"Phi4", "deepseek-r1", "llama3.1-70b-instruct", "gemini-2.0-flash-exp"}
    assert [u["reason"].split(";")[0] for u in data["unpaired"]] == ["no attack_result for target 'gemini-1.5-pro-flash' in this folder"]
    phi = next(t for t in data["targets"] if t["target"] == "Phi4")
    assert phi["scores"]["strict_positive"] == 1 and phi["files"]["strict"].endswith("GPT_phi-4_0.25.csv")
    res = runner.invoke(app, ["distill", "import-paper", str(FIXTURES), "--run-dir", str(tmp_path / "r2")])
    assert res.exit_code == 0, res.output
    for name in ("llama3.1-70b-instruct", "gemini-2.0-flash-exp", "GPT_gemini-1.5-pro-flash_0.25.csv"):
        assert name in res.output
    assert "…" not in res.output


def test_cli_import_paper_real_sample(paper_dir, tmp_path):
    res = CliRunner().invoke(app, ["distill", "import-paper", str(paper_dir), "--run-dir", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert "0.339" in res.output and "0.219" in res.output and "0.070" in res.output


def test_bad_file_named(tmp_path):
    bad = tmp_path / "attack_result__gpt_GPT_x.jsonl"
    bad.write_text('{"jailbreak_prompt": "a {query}", "query": "q", "target_responses": ["r"], "eval_results": true}\n{"oops": 1}\n')
    with pytest.raises(ValueError, match=r"attack_result__gpt_GPT_x.jsonl:2"):
        import_paper(PaperFiles(bad), tmp_path / "run")


def test_report_of_imported_fixtures(tmp_path):
    """Missing scores stay missing (not 0), every score carries its interval, the paper comparison is
    there, and the scatter uses the paper's published RSE for imported targets."""
    import csv

    run, out = tmp_path / "run", tmp_path / "report"
    assert CliRunner().invoke(app, ["distill", "import-paper", str(FIXTURES), "--run-dir", str(run)]).exit_code == 0
    res = CliRunner().invoke(app, ["distill", "report", "--run-dir", str(run), "--out", str(out)])
    assert res.exit_code == 0, res.output
    md = (out / "report.md").read_text()
    assert "| gemini-2.0-flash-exp | 4 | 0.250 [0.046, 0.699] | missing | missing |" in md  # Wilson(1, 4), by hand
    assert "| llama3.1-70b-instruct | 4 | 0.250 [0.046, 0.699] | 0.000 [0.000, 0.490] | 0.000 [0.000, 0.490] |" in md
    assert "## Comparison with the paper's published figures" in md and "| Phi4 | loose | paper Figure 2 | 0.22 |" in md
    assert "**no**" in md and "copy of a loose file" in md
    assert "## By language" in md and "| Phi4 | zh | 2 |" in md
    assert "## Not distinguishable at 95%" in md  # n=4: everything overlaps
    rows = {r["target"]: r for r in csv.DictReader(open(out / "report.csv"))}
    assert rows["gemini-2.0-flash-exp"]["strict"] == "" and rows["llama3.1-70b-instruct"]["strict"] == "0.0"
    assert rows["Phi4"]["published_rse_avg"] == "4.045"  # the paper's RSE table, typed in from its README
    # plotted: Phi4 and llama (published RSE + strict); gemini has no strict, deepseek-r1 no published RSE
    assert "2 targets plotted, 2 of them against the paper's published RSE average" in md and "2 without both" in md
    assert (out / "scatter.png").read_bytes()[:4] == b"\x89PNG"
