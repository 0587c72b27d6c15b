"""Pure logic: configs, task mapping, sampling, conflict policies, agreement (hand-computed)."""

from __future__ import annotations

import pytest

from annotation.agreement import cohen_kappa, krippendorff_alpha_nominal
from annotation.configs import CONFIGS, check_config, interface
from annotation.server import ServerError, find_binary
from annotation.tasks import PredictionError, build_task, stratified_sample, task_data, validate_prediction
from annotation.verdicts import Verdict, apply_resolution, edit_size, resolve
from curation.stages.validate import validate_row
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
    assert validate_row("t:1", out.model_dump(mode="json")).__class__.__name__ == "Kept"
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
