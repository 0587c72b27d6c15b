"""Pure logic: configs, task mapping, sampling, conflict policies, agreement (hand-computed)."""

from __future__ import annotations

import pytest

from annotation.agreement import cohen_kappa, krippendorff_alpha_nominal
from annotation.configs import (
    CONFIGS,
    REJECT_REASON_LABELS,
    VERDICT_LABELS,
    check_config,
    choice_display,
    choice_values,
    interface,
    variable_problems,
)
from annotation.server import ServerError, find_binary
from annotation.tasks import (
    PredictionError,
    build_task,
    first_pass_html,
    stratified_sample,
    task_data,
    validate_prediction,
)
from annotation.verdicts import Verdict, apply_resolution, edit_size, parse_annotation, resolve
from curation.stages.validate import validate_row
from schemas.verification import verification_state
from tests.annotation.helpers import make_record, records_by_source


@pytest.mark.parametrize("name", CONFIGS)
def test_config_parses_and_has_the_contract(name: str) -> None:
    assert check_config(name) == []
    record = make_record("zhihu", 1)
    task = build_task(record, name)
    li = interface(name)
    # (the SDK's validate_task crashes on tasks with predictions: check data and prediction apart)
    assert li.validate_task({"data": task["data"]}) is not False
    for obj in li.objects:  # every $field the config shows is filled by the mapping
        assert str(obj.value).lstrip("$") in task["data"]
    assert validate_prediction(task["predictions"][0], name) is None


def test_no_config_shows_the_raw_task() -> None:
    """`$source` in a Header printed the whole task JSON (predictions, lock ids) above every record."""
    old_header = '<View><Header value="来源 Source: $source · id $record_id"/></View>'
    assert variable_problems("old", old_header) == ["old: $source names a task attribute: the UI would show the raw task"]
    assert variable_problems("typo", '<View><Text name="x" value="$outptu"/></View>') == [
        "typo: reads $outptu, which tasks never carry"]
    for name in CONFIGS:
        data = build_task(make_record("zhihu", 1), name)["data"]
        assert "source" not in data and data["src_name"] == "zhihu"


@pytest.mark.parametrize("name", CONFIGS)
def test_choices_show_chinese_and_store_stable_codes(name: str) -> None:
    # what the annotator sees (Choice value) → what is stored (alias): checked by hand against the XML
    assert choice_display(name, "verdict") == {
        "verification": {"accept": "接受（正确、完整、可发布）", "accept_with_edits": "修改后接受", "reject": "拒绝"},
        "review": {"accept": "确认接受", "accept_with_edits": "修改后接受", "reject": "推翻：拒绝"},
        "llm_answer": {"accept": "接受（回答正确、可发布）", "accept_with_edits": "修改后接受", "reject": "拒绝"},
    }[name]
    assert choice_display(name, "reject_reason") == REJECT_REASON_LABELS
    assert choice_values(name, "verdict") == tuple(VERDICT_LABELS)  # the SDK validates against the codes
    shown = [v for c in ("verdict", "reject_reason", "llm_issues") for v in choice_display(name, c).values()]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in v) for v in shown), shown


def test_llm_answers_are_marked() -> None:
    assert "大模型" in task_data(make_record("ruozhiba", 1, answer_from="llm"))["answer_note"]
    assert "大模型" not in task_data(make_record("zhihu", 1))["answer_note"]
    assert "llm_score" in task_data(make_record("zhihu", 1))["evidence"]


def test_quality_preannotation_follows_the_llm_quality_scale() -> None:
    """stats.llm_quality is the 1-10 score of curation.stages.quality: 1 is the worst, 10 the best."""
    def rating(**stats):
        prediction = build_task(make_record("zhihu", 1, **stats), "verification")["predictions"][0]
        return next((r["value"]["rating"] for r in prediction["result"] if r["from_name"] == "quality"), None)

    assert [rating(llm_quality=v) for v in (1, 3, 5, 8, 10)] == [1, 2, 3, 4, 5]
    assert rating(llm_score=0.75) == 4  # 0-1 scores keep their mapping


def test_invalid_prediction_is_refused() -> None:
    bad = {"model_version": "x", "result": [
        {"from_name": "verdict", "to_name": "instruction", "type": "choices", "value": {"choices": ["maybe"]}}]}
    with pytest.raises(PredictionError, match="maybe"):
        build_task(make_record("zhihu", 1), "verification", bad)
    bad_rating = {"result": [{"from_name": "quality", "to_name": "output", "type": "rating", "value": {"rating": 9}}]}
    with pytest.raises(PredictionError):
        validate_prediction(bad_rating, "verification")


def test_task_hash_changes_with_content_only() -> None:
    a, b = build_task(make_record("zhihu", 1), "verification"), build_task(make_record("zhihu", 1), "verification")
    assert a["data"]["cqia_hash"] == b["data"]["cqia_hash"]
    changed = make_record("zhihu", 1)
    changed.record.output = "新的回答"
    assert build_task(changed, "verification")["data"]["cqia_hash"] != a["data"]["cqia_hash"]


def test_stratified_sample_is_proportional_and_stable() -> None:
    records = records_by_source({"zhihu": 60, "douban": 30, "ruozhiba": 10})
    sample = stratified_sample(records, 20)
    assert [r.id for r in sample] == [r.id for r in stratified_sample(list(reversed(records)), 20)][::-1] or \
        {r.id for r in sample} == {r.id for r in stratified_sample(list(reversed(records)), 20)}
    by = {s: sum(r.source == s for r in sample) for s in ("zhihu", "douban", "ruozhiba")}
    assert by == {"zhihu": 12, "douban": 6, "ruozhiba": 2}
    tiny = stratified_sample(records, 3)
    assert {r.source for r in tiny} == {"zhihu", "douban", "ruozhiba"}


def test_cohen_kappa_hand_computed() -> None:
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    # po = 35/50 = 0.7; pe = (25*30 + 25*20)/2500 = 0.5; kappa = (0.7-0.5)/0.5 = 0.4
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.4)


def test_krippendorff_alpha_hand_computed() -> None:
    # units [a,a,a], [a,b], [b,b]: o_aa=3 (6 pairs x 1/2), o_ab=o_ba=1, o_bb=2; n_a=4, n_b=3, n=7
    # alpha = 1 - (n-1) * sum_{c!=k} o_ck / sum_{c!=k} n_c n_k = 1 - 6*2/24 = 0.5
    assert krippendorff_alpha_nominal([["a", "a", "a"], ["a", "b"], ["b", "b"]]) == pytest.approx(0.5)
    assert krippendorff_alpha_nominal([["a", "a"], ["b", "b"]]) == pytest.approx(1.0)


def _v(who: str, verdict: str, t: str, *, reviewer: bool = False, **kw) -> Verdict:
    return Verdict("r1", who, verdict, created_at=t, reviewer=reviewer, **kw)


def test_conflict_policies() -> None:
    two_one = [_v("a", "accept", "1"), _v("b", "accept", "2"), _v("c", "reject", "3", reasons=("pii",))]
    assert resolve(two_one, "majority").decision == "accept"
    assert resolve(two_one, "hold").decision == "held"
    tie = [_v("a", "accept", "1"), _v("b", "reject", "2")]
    assert resolve(tie, "majority").decision == "held"
    with_reviewer = tie + [_v("r", "reject", "3", reviewer=True, reasons=("unsafe",))]
    res = resolve(with_reviewer, "reviewer-wins")
    assert (res.decision, res.winner.reasons, res.conflict) == ("reject", ("unsafe",), True)
    # one annotator changing their mind counts once (latest wins)
    assert resolve([_v("a", "reject", "1"), _v("a", "accept", "2")], "hold").decision == "accept"


def test_accept_sets_verified_marker_the_release_checks() -> None:
    record = make_record("zhihu", 1)
    res = resolve([_v("a", "accept_with_edits", "1", output="因为瑞利散射，短波长的蓝光散射更强。")], "majority")
    decision = apply_resolution(record, res)
    out = decision.record
    assert out.record.human_verified and out.provenance.extra["verified_by"] == "annotation"
    assert out.record.output.startswith("因为瑞利散射，")
    assert out.provenance.extra["annotation"]["edit_size"] == edit_size(record.record.output, out.record.output) > 0
    assert validate_row("t:1", out.model_dump(mode="json")).__class__.__name__ in ("Kept", "KeptRaw")  # kept, not dropped
    assert record.record.human_verified is False  # input untouched


def test_undecided_records_are_never_verified() -> None:
    record = make_record("zhihu", 1)
    for res, status in ((resolve([], "majority"), "pending"),
                        (resolve([_v("a", "accept", "1"), _v("b", "reject", "2")], "hold"), "held")):
        decision = apply_resolution(record, res)
        assert decision.kind == "keep" and not decision.record.record.human_verified
        assert decision.record.provenance.extra["review_status"] == status
        assert "verified_by" not in decision.record.provenance.extra
        assert apply_resolution(record, res, unreviewed="drop").kind == "drop"


def test_missing_server_binary_names_the_setup_script(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("CQIA_LABEL_STUDIO_BIN", str(tmp_path / "nope" / "label-studio"))
    with pytest.raises(ServerError, match="setup_label_studio.sh"):
        find_binary()


def _upstream(n: int) -> object:
    """A COIG-CQIA row as instruct_import reads it: human_verified upstream, verified_by=upstream."""
    record = make_record("coig_cqia", n)
    record.record.human_verified = True
    record.provenance.extra["verified_by"] = "upstream"
    return record


def test_disputed_or_rejected_upstream_rows_lose_human_verified() -> None:
    """Issue 13: an upstream-verified row one annotator rejected and another accepted was held and
    still shipped human_verified=true."""
    held = apply_resolution(_upstream(1), resolve([_v("a", "accept", "1"), _v("b", "reject", "2")], "majority"))
    assert held.status == "held" and held.kind == "keep"
    assert held.record.record.human_verified is False
    assert "verified_by" not in held.record.provenance.extra and held.record.provenance.extra["upstream_verified"]
    assert verification_state(False, held.record.provenance.extra) == "held"

    rejected = apply_resolution(_upstream(2), resolve([_v("a", "reject", "1", reasons=("pii",))], "majority"))
    assert rejected.kind == "drop" and rejected.record.record.human_verified is False

    untouched = apply_resolution(_upstream(3), resolve([], "majority"), pushed=True)
    assert untouched.record.record.human_verified and untouched.record.provenance.extra["verified_by"] == "upstream"
    assert verification_state(True, untouched.record.provenance.extra) == "upstream_verified"

    accepted = apply_resolution(_upstream(4), resolve([_v("a", "accept", "1")], "majority"))
    extra = accepted.record.provenance.extra
    assert extra["verified_by"] == "annotation" and extra["upstream_verified"] is True
    assert verification_state(True, extra) == "verified_here"


def test_review_task_shows_the_first_pass() -> None:
    record = make_record("zhihu", 1)
    edited = "因为瑞利散射：蓝光波长短，散射更强。"
    accepted = apply_resolution(record, resolve(
        [_v("ann1", "accept_with_edits", "1", output=edited)], "majority")).record
    page = first_pass_html(accepted)
    assert "首轮已接受" in page and "ann1" in page and ">修改后接受</td>" in page
    assert "accept_with_edits" not in page  # Chinese labels, as in the configs
    # before/after of the applied edit, the changed characters marked
    assert "修改前 before:" in page and "修改后 after:" in page
    assert '<del style="background:#fecaca">(1)</del>' in page
    assert '<ins style="background:#bbf7d0">：蓝光波长短，散射更强</ins>' in page

    held = apply_resolution(record, resolve([_v("ann1", "accept_with_edits", "1", output=edited),
                                             _v("ann2", "reject", "2", reasons=("factually_wrong",),
                                                note="与来源不符")], "majority")).record
    page = first_pass_html(held)
    assert "有分歧，暂缓 held" in page and ">拒绝</td>" in page and "事实错误" in page and "与来源不符" in page
    assert "ann1 提议的修改 proposed edit" in page and "未采用 not applied" in page
    data = build_task(held, "review")["data"]
    assert data["first_pass"] == page and "first_pass" not in build_task(held, "verification")["data"]
    assert "<script" not in first_pass_html(apply_resolution(record, resolve(
        [_v("<script>x</script>", "accept", "1")], "majority")).record)  # names are escaped


def test_edit_box_trailing_newline_is_not_an_edit() -> None:
    """Pressing Enter in Label Studio's edit box stores the text with a trailing newline."""
    annotation = {"id": 1, "result": [
        {"from_name": "verdict", "value": {"choices": ["accept_with_edits"]}},
        {"from_name": "output_edit", "value": {"text": ["因为瑞利散射。(1)\n"]}}]}
    verdict = parse_annotation("r1", annotation, "ann")
    assert verdict is not None and verdict.output == "因为瑞利散射。(1)"
    decision = apply_resolution(make_record("zhihu", 1), resolve([verdict], "majority"))
    assert decision.record.provenance.extra["annotation"]["edited"] is False


def test_server_keeps_its_bytecode_in_our_cache(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """With PYTHONDONTWRITEBYTECODE set every server start recompiled ~3,500 modules (half the start)."""
    from annotation.server import Credentials, server_env

    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("CQIA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("PYTHONPYCACHEPREFIX", raising=False)
    env = server_env(tmp_path / "data", Credentials("a@b.c", "pw", "tok"))
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path / "cache" / "label-studio" / "pycache")
