"""What an annotator sees and does, in a real Label Studio through a real headless Chromium.

A person logs in through the login page, opens a task of each labeling config and must see the
record (instruction, input, output, source link, filter evidence), the LLM banner where the answer
is machine-written, and verdict controls in Chinese — never raw task JSON or stored codes. Then
they accept one task with an edited output and reject another with a reason, and `annotate pull`
must apply exactly that. The review pass then shows the first pass to the reviewer.
Screenshots go to runs/test-artefacts (tests/browser.py `artefact`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotation.configs import choice_display, load_config
from curation.cli import app
from curation.cli.annotate import push_run
from curation.pipeline.rundir import RunDir
from schemas import CuratedRecord, InstructionRecord, Provenance, TaskType, make_record_id
from tests.annotation.conftest import LS, PASSWORD
from tests.annotation.helpers import make_stage
from tests.browser import artefact

ANNOTATOR = "ann1@cqia.test"
RAW = ('"predictions"', '{"', '"record_id"', "cqia_hash")  # signs of raw task JSON on screen
CODES = ("accept_with_edits", "factually_wrong", "low_quality")  # stored codes, never shown
EDITED = "因为瑞利散射：波长越短的蓝光被空气分子散射得越强，所以天空看起来是蓝色的。"
NOTE = "答案与来源不符"


def _record(source: str, n: int, instruction: str, output: str, *, answer_from: str = "human") -> CuratedRecord:
    return CuratedRecord(
        id=make_record_id(source, f"ui-{n}"), source=source,
        record=InstructionRecord(instruction=instruction, input=f"补充说明 {n}：请用一两句话回答。", output=output,
                                 task_type=TaskType(major=["问答"], minor=["百科问答"]), domain=["百科"],
                                 answer_from=answer_from, human_verified=False),  # type: ignore[arg-type]
        provenance=Provenance(source_id=f"ui-{n}", url=f"https://example.org/{source}/ui-{n}"),
        stats={"llm_score": 0.81, "near_dup_cluster": 7, "char_len": len(output)},
    )


ACCEPT = _record("zhihu", 1, "为什么天空是蓝色的？", "因为瑞利散射。")
REJECT = _record("zhihu", 2, "水的沸点是多少？", "水在任何气压下都是 50 摄氏度沸腾。")
LLM = _record("ruozhiba", 3, "既然监狱里全是罪犯，为什么警察不去监狱抓人？", "监狱里的人已经被抓了，所以不需要再抓。",
              answer_from="llm")


def _push(ls: LS, run: Path, project: str, stage: str, config: str) -> dict[str, int]:
    result = push_run(run, project, stage=stage, config=config, sample=None, stratify="source", overlap=1,
                      overlap_share=None, batch_size=100, client=ls.client, label_config=load_config(config),
                      progress=False)
    tasks = {t["data"]["record_id"]: t["id"] for t in ls.client.iter_tasks(result["project_id"])}
    return {"project": result["project_id"], **tasks}


def _login(browser, url: str):  # -> playwright Page
    context = browser.new_context(viewport={"width": 1280, "height": 1500})
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(f"{url}/user/login/")
    page.fill("input[name=email]", ANNOTATOR)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(lambda u: "/user/login" not in u)
    return page


def _open(page, url: str, project: int, task: int, record: CuratedRecord):  # -> panel Locator
    page.goto(f"{url}/projects/{project}/data?task={task}")
    panel = page.locator(".lsf-main-view__annotation")
    panel.get_by_text(record.record.instruction).first.wait_for()
    return panel


def _choice(panel, config: str, control: str, code: str):
    shown = choice_display(config, control)[code]
    return panel.locator(f'label:has(input[name="{shown}"])')


def _must_see(panel, config: str, record: CuratedRecord) -> str:
    text = panel.inner_text()
    for part in (record.record.instruction, record.record.input, record.record.output, record.id,
                 "llm_score=0.81", "near_dup_cluster=7"):
        assert part in text, f"{config}: {part!r} not on screen"
    assert panel.locator(f'a[href="{record.provenance.url}"]').is_visible(), f"{config}: no source link"
    for shown in choice_display(config, "verdict").values():
        assert _choice(panel, config, "verdict", {v: k for k, v in choice_display(config, "verdict").items()}[shown]
                       ).is_visible(), f"{config}: verdict {shown!r} not shown"
    for raw in (*RAW, *CODES):
        assert raw not in text, f"{config}: {raw!r} on screen"
    whole_page = panel.page.inner_text("body")  # the task list beside the panel too
    for raw in ('"predictions"', '{"'):
        assert raw not in whole_page, f"{config}: {raw!r} on the page"
    return text


def test_annotator_sees_the_record_and_annotates_through_the_ui(
    ls: LS, browser, run_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    make_stage(run_dir, "candidates", [ACCEPT, REJECT])
    make_stage(run_dir, "llm", [LLM])
    verification = _push(ls, run_dir, "ui verification", "candidates", "verification")
    llm = _push(ls, run_dir, "ui llm answers", "llm", "llm_answer")
    url = ls.conn.url
    page = _login(browser, url)

    # -- an LLM-answered task: the banner says so, the rest as in verification
    panel = _open(page, url, llm["project"], llm[LLM.id], LLM)
    text = _must_see(panel, "llm_answer", LLM)
    assert "本条回答由大模型生成" in text and "编造事实" in text
    page.screenshot(path=artefact("annotation-llm-answer.png"), full_page=True)

    # -- verification: accept with an edit of the output
    panel = _open(page, url, verification["project"], verification[ACCEPT.id], ACCEPT)
    text = _must_see(panel, "verification", ACCEPT)
    assert "本条回答由大模型生成" not in text
    page.screenshot(path=artefact("annotation-verification.png"), full_page=True)
    _choice(panel, "verification", "verdict", "accept_with_edits").click()
    _edit_output(page, panel, ACCEPT.record.output, EDITED)
    page.screenshot(path=artefact("annotation-accept-with-edit.png"), full_page=True)
    # the README's picture (docs/img/annotation-verification.png): the task list and the labeling panel
    page.screenshot(path=artefact("annotation-readme.png"), clip={"x": 0, "y": 0, "width": 960, "height": 1110})
    _submit(page)

    # -- verification: reject with a reason and a note
    panel = _open(page, url, verification["project"], verification[REJECT.id], REJECT)
    _must_see(panel, "verification", REJECT)
    assert not _choice(panel, "verification", "reject_reason", "factually_wrong").is_visible()
    _choice(panel, "verification", "verdict", "reject").click()
    _choice(panel, "verification", "reject_reason", "factually_wrong").click()
    editor = panel.locator('textarea[placeholder^="补充说明"]')
    editor.fill(NOTE)
    editor.press("Shift+Enter")
    page.screenshot(path=artefact("annotation-reject.png"), full_page=True)
    _submit(page)

    # -- pull applies exactly what was done in the browser
    monkeypatch.setenv("CQIA_LS_URL", url)
    monkeypatch.setenv("CQIA_LS_API_KEY", ls.conn.api_key)
    monkeypatch.setenv("CQIA_LS_CONFIG", str(tmp_path / "no-config.json"))
    runner = CliRunner()
    out = runner.invoke(app, ["annotate", "pull", str(run_dir), "--project", "ui verification"])
    assert out.exit_code == 0, out.output
    run = RunDir(run_dir)
    kept = {r.id: r for r in run.iter_records("verified")}
    rejects = {row["id"]: row for row in run.iter_rejects("verified")}
    assert set(kept) == {ACCEPT.id} and set(rejects) == {REJECT.id}
    accepted = kept[ACCEPT.id]
    assert accepted.record.human_verified and accepted.provenance.extra["verified_by"] == "annotation"
    assert accepted.record.output == EDITED and accepted.record.instruction == ACCEPT.record.instruction
    assert accepted.provenance.extra["annotation"]["annotators"] == [ANNOTATOR]
    assert accepted.provenance.extra["annotation"]["edits"]["output"]["before"] == ACCEPT.record.output
    assert set(accepted.provenance.extra["annotation"]["edits"]) == {"output"}  # nothing else changed
    assert accepted.provenance.extra["annotation"]["verdicts"] == {ANNOTATOR: "accept_with_edits"}
    assert rejects[REJECT.id]["reason"] == "rejected_factually_wrong"
    assert NOTE in rejects[REJECT.id]["detail"] and ANNOTATOR in rejects[REJECT.id]["detail"]

    # -- the review pass: the reviewer sees the first pass (verdict, annotator, before/after)
    out = runner.invoke(app, ["annotate", "push", str(run_dir), "--project", "ui review", "--stage", "verified",
                              "--config", "review", "--only", "accepted,held"])
    assert out.exit_code == 0, out.output
    review_project = ls.client.find_project("ui review")
    task = next(ls.client.iter_tasks(review_project["id"]))
    reviewed = CuratedRecord.model_validate(accepted.model_dump())
    panel = _open(page, url, review_project["id"], task["id"], reviewed)
    _must_see(panel, "review", reviewed)
    first_pass = panel.locator(".lsf-htx-richtext").filter(has_text="首轮已接受").first.inner_text()
    for part in ("首轮已接受", ANNOTATOR, "修改后接受", "修改前 before", "修改后 after", "因为瑞利散射。"):
        assert part in first_pass, f"review: {part!r} not in the first-pass block"
    assert re.search(r"修改后 after:\s*因为瑞利散射：波长越短", first_pass)
    page.screenshot(path=artefact("annotation-review.png"), full_page=True)
    page.context.close()


def _edit_output(page, panel, before: str, after: str) -> None:
    """As a person does it: the output box is prefilled with the output; click its edit button,
    rewrite the text, click elsewhere to leave the box."""
    row = panel.get_by_test_id("textarea-region").filter(has=page.locator('[name^="output_edit"]'))
    assert row.inner_text().strip() == before  # prefilled from the pre-annotation
    row.get_by_test_id("htx-textbox-edit-button").click()
    row.locator("textarea").fill(after)
    panel.get_by_text("编辑回答 Edit output").click()
    assert row.inner_text().strip() == after


def _submit(page) -> None:
    page.get_by_role("button", name="Submit").click()
    page.wait_for_timeout(1500)
