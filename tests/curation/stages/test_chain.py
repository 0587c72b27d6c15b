"""The curation chain on a real run directory: clean -> filter, stats before decisions, rejects
with their stats and reasons, retuning thresholds re-runs only the filter, kill-safe resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from curation.pipeline.recipe import load_recipe
from curation.pipeline.rundir import RunDir
from curation.pipeline.runner import Stage, run_stage
from curation.stages.chain import chain, curate_run
from schemas import RAW_TEXT, CuratedRecord, InstructionRecord, Provenance, TaskType, make_record_id

GOOD = "咖啡和豆浆都由植物种子制成，但咖啡豆经过烘焙和研磨，豆浆则是大豆浸泡后磨浆煮沸得到的饮品，两者味道和营养都不同。"


def rec(source: str, instruction: str, output: str, input_: str = "", **extra: Any) -> CuratedRecord:
    return CuratedRecord(
        id=make_record_id(source, content=instruction + input_ + output),
        source=source,
        record=InstructionRecord(instruction=instruction, input=input_, output=output,
                                 task_type=TaskType(major=["问答"], minor=["百科问答"]), domain=["通用"],
                                 answer_from="human", human_verified=False),
        provenance=Provenance(location=f"test#{len(instruction)}", extra=extra),
    )


RECORDS = [
    rec("zhihu", "咖啡可以叫豆浆吗？", GOOD + "\n编辑于 2023-05-01 12:00", votes=250),
    rec("zhihu", "联系方式", "有问题请打我电话13812345678或者发邮件给zhang@example.com，我会尽快回复大家的问题。"),
    rec("zhihu", "重复", "哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈"),
    rec("zhihu", "English?", "This answer is written entirely in English and has no Chinese characters at all."),
    rec("ruozhiba", "为啥", GOOD),  # instruction shorter than ruozhiba's override (4 chars)
    rec("douban", "\u200b\u200b", "有内容的回答。"),  # instruction is only zero-width chars
]


def make_run(run_dir: Path, records: list[CuratedRecord] = RECORDS) -> RunDir:
    run = RunDir(run_dir)
    run_stage(run, Stage("validate", lambda skip: iter(records[skip:]), inputs=[{"test": len(records)}]),
              progress=False)
    return run


def rejects(run: RunDir, stage: str) -> dict[str, dict[str, Any]]:
    return {row["record"]["record"]["instruction"]: row for row in run.iter_rejects(stage)}


def test_clean_then_filter_with_named_reasons(run_dir: Path) -> None:
    run = make_run(run_dir)
    results = curate_run(run_dir, load_recipe(), progress=False)
    # the default recipe ends with dedup
    assert [r.manifest["stage"] for r in results] == ["clean", "filter", "dedup"]
    clean = {r.record.instruction: r for r in run.iter_records("clean")}
    first = clean["咖啡可以叫豆浆吗？"]
    assert "编辑于" not in first.record.output
    assert first.stats["lang"] == "zh" and first.stats["cjk_ratio"] > 0.8
    assert first.stats["votes_norm"] > 0
    contact = clean["联系方式"].record.output
    assert "13812345678" not in contact and "<MOBILE>" in contact and "<EMAIL>" in contact
    assert clean["联系方式"].stats["pii"] == {"mobile": 1, "email": 1}
    assert rejects(run, "clean")[""]["reason"] == "empty_after_clean"

    dropped = rejects(run, "filter")
    assert dropped["重复"]["reason"] == "char_repetition"
    assert dropped["English?"]["reason"] == "low_cjk_ratio"
    assert dropped["为啥"]["reason"] == "instruction_too_short"
    # rejects carry the stats that justified the decision
    assert dropped["重复"]["record"]["stats"]["char_rep_ratio"] > 0.5
    kept = {r.record.instruction for r in run.iter_records("filter")}
    assert kept == {"咖啡可以叫豆浆吗？", "联系方式"}
    counts = results[1].manifest["counts"]
    assert counts["by_source"]["ruozhiba"]["dropped"] == {"instruction_too_short": 1}


def test_retuning_filter_reruns_only_filter(run_dir: Path, tmp_path: Path) -> None:
    make_run(run_dir)
    curate_run(run_dir, load_recipe(), progress=False)
    loose = tmp_path / "loose.yaml"
    loose.write_text("filter: {max_char_rep_ratio: null, min_cjk_ratio: null, allowed_langs: null}\n", encoding="utf-8")
    results = curate_run(run_dir, load_recipe(loose), progress=False)
    assert results[0].skipped and not results[1].skipped
    assert results[1].manifest["counts"]["kept"] == 4


def test_cleaning_change_reruns_clean(run_dir: Path, tmp_path: Path) -> None:
    make_run(run_dir)
    curate_run(run_dir, load_recipe(), progress=False)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("pii: {redact: false}\n", encoding="utf-8")
    results = curate_run(run_dir, load_recipe(recipe), progress=False)
    assert not results[0].skipped


def test_process_pool_gives_same_output_as_inline(run_dir: Path, tmp_path: Path) -> None:
    many = [rec("zhihu", f"问题{i}：咖啡可以叫豆浆吗？", GOOD + f"第{i}个回答。") for i in range(60)] + RECORDS
    outputs = []
    for workers, name in ((1, "inline"), (2, "pool")):
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"workers: {workers}\nbatch_size: 7\n", encoding="utf-8")
        run_path = tmp_path / name
        run = make_run(run_path, many)
        curate_run(run_path, load_recipe(path), progress=False)
        outputs.append([orjson.loads(line) for p in run.shard_paths("filter") for line in p.read_bytes().splitlines()])
    # 60 good + coffee + contact + ruozhiba (no per-source override in this recipe)
    assert outputs[0] == outputs[1] and len(outputs[0]) == 63


def test_resume_after_partial_clean(run_dir: Path) -> None:
    records = [rec("zhihu", f"第{i}题：咖啡可以叫豆浆吗？", GOOD) for i in range(25)]
    run = make_run(run_dir, records)
    from curation.stages.chain import clean_stage

    recipe = load_recipe()
    stage = clean_stage(run, "validate", recipe)
    stage.shard_size = 10
    assert stage.tasks is not None and len(stage.tasks) == 1  # one upstream shard: one task
    produce = stage.tasks[0]

    def killed(skip: int):
        for i, outcome in enumerate(produce(skip)):
            if skip == 0 and i == 15:
                raise KeyboardInterrupt
            yield outcome

    stage.tasks = [killed]
    with pytest.raises(KeyboardInterrupt):
        run_stage(run, stage, progress=False)
    result = run_stage(run, stage, progress=False)
    assert result.resumed_from == 10
    assert [r.record.instruction for r in run.iter_records("clean")] == [r.record.instruction for r in records]


def test_plugin_sections_join_the_chain_after_filter(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("dedup: {threshold: 0.7}\n", encoding="utf-8")
    try:
        names = [name for name, _ in chain(load_recipe(path))]
    except RuntimeError as exc:  # dedup stage not merged yet: the error names the section
        assert "dedup" in str(exc)
    else:
        assert names[:2] == ["clean", "filter"] and names[2] == "dedup"


def _raw(instruction: str, output: str, input_: str = "", location: str = "in.jsonl:1") -> CuratedRecord:
    """A record as ingest keeps it: raw text, validated for structure only (RAW_TEXT)."""
    record = InstructionRecord.model_validate(
        {"instruction": instruction, "input": input_, "output": output, "task_type": {"major": ["问答"], "minor": ["通用"]},
         "domain": ["通用"], "answer_from": "human", "human_verified": False}, context=RAW_TEXT)
    return CuratedRecord(id=make_record_id("zhihu", content=instruction + output), source="zhihu", record=record,
                         provenance=Provenance(location=location))


def test_clean_repairs_raw_text_and_rejects_what_stays_invalid(run_dir: Path, tmp_path: Path) -> None:
    records = [_raw("请\x00解释\r下面的词\x0b语", "“天下兴亡，匹夫有责”出自顾炎武。\r\n", "\x85", location="in.jsonl:1"),
               _raw("问题", "回答" + "很长的回答内容。" * 3, location="in.jsonl:2")]
    run = make_run(run_dir, records)
    curate_run(run_dir, load_recipe(), progress=False, until="clean")
    cleaned = {r.provenance.location: r.record for r in run.iter_records("clean")}  # strict validation passes
    assert cleaned["in.jsonl:1"].instruction == "请解释\n下面的词语"
    assert cleaned["in.jsonl:1"].output == "“天下兴亡，匹夫有责”出自顾炎武。" and cleaned["in.jsonl:1"].input == ""

    # with control-character repair switched off the record cannot become strict: a located invalid reject
    recipe = tmp_path / "no_controls.yaml"
    recipe.write_text("version: 1\nclean: {control_chars: false}\n", encoding="utf-8")
    results = curate_run(run_dir, load_recipe(recipe), progress=False, until="clean")
    counts = results[0].manifest["counts"]
    assert counts["in"] == 2 and counts["kept"] == 1 and counts["invalid"] == {"not_strict_after_clean": 1}
    [reject] = list(run.iter_rejects("clean"))
    assert reject["kind"] == "invalid" and reject["location"] == "in.jsonl:1"
    assert "record.instruction contains control character U+0000" in reject["detail"]
    assert [r.provenance.location for r in run.iter_records("clean")] == ["in.jsonl:2"]


def test_compiled_metrics_only_past_the_threshold_and_same_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The clean stage turns the compiled metric kernels on only when each worker has enough
    records to repay their start-up, and its output is byte-identical either way."""
    from curation.stages import chain as chain_module

    recipe = load_recipe().model_copy(update={"workers": 1})
    outputs = {}
    for threshold in (10**9, 1):
        monkeypatch.setattr(chain_module, "COMPILED_METRICS_MIN_RECORDS_PER_WORKER", threshold)
        run = make_run(tmp_path / str(threshold))
        stage = chain_module.clean_stage(run, "validate", recipe)
        assert {task.compiled for task in stage.tasks} == {threshold == 1}
        curate_run(tmp_path / str(threshold), recipe, progress=False, until="clean")
        outputs[threshold] = ([p.read_bytes() for p in run.shard_paths("clean")],
                              sorted(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) for r in run.iter_rejects("clean")))
    assert outputs[1] == outputs[10**9]
    assert any(b"char_rep_ratio" in shard for shard in outputs[1][0])
