"""Import of existing instruction data: real LLaMA-Factory and COIG-CQIA files, and bad lines."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas import CuratedRecord, InvalidItem
from sources.instruct_import import iter_import
from sources.settings import load_settings

SETTINGS = load_settings("coig_pc")


def _split(items):
    records = [i for i in items if isinstance(i, CuratedRecord)]
    invalid = [i for i in items if isinstance(i, InvalidItem)]
    return records, invalid


def test_alpaca_real_sample(samples_dir: Path) -> None:
    path = samples_dir / "instruct_zh" / "llama-factory__alpaca_zh_demo.json"
    records, invalid = _split(list(iter_import([path], "alpaca", "coig_pc", SETTINGS)))
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert not invalid and len(records) == len(raw)
    first = records[0]
    assert first.record.instruction == raw[0]["instruction"] and first.record.output == raw[0]["output"]
    assert first.record.task_type == SETTINGS.task_type and first.record.human_verified is False
    assert first.provenance.location == f"{path}#0" and len(first.provenance.raw_sha256) == 64
    assert first.provenance.license == SETTINGS.license


def test_sharegpt_tool_calls_first_human_turn_and_final_reply(samples_dir: Path) -> None:
    path = samples_dir / "instruct_zh" / "llama-factory__glaive_toolcall_zh_demo.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    records, invalid = _split(list(iter_import([path], "sharegpt", "coig_pc", SETTINGS)))
    assert not invalid and len(records) == len(raw)
    convo = raw[0]["conversations"]
    rec = records[0]
    assert rec.record.instruction == convo[0]["value"]
    # the first *assistant* reply, not the function_call turn right after the question
    assert rec.record.output == next(t["value"] for t in convo if t["from"] == "gpt")
    assert rec.provenance.extra["conversation"] == convo
    assert rec.provenance.extra["tools"] == raw[0]["tools"]


def test_coig_cqia_records_keep_upstream_verification(samples_dir: Path) -> None:
    path = samples_dir / "coig_cqia" / "cqia_ruozhiba_first20.jsonl"
    records, invalid = _split(list(iter_import([path], "coig-cqia", "ruozhiba", SETTINGS)))
    assert len(records) == 20 and not invalid
    assert all(r.record.human_verified and r.provenance.extra["verified_by"] == "upstream" for r in records)
    assert records[0].provenance.location == f"{path}:1"
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert records[0].record.model_dump() == first


def test_malformed_lines_become_rejects_with_file_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        "\n".join([
            json.dumps({"instruction": "写一首诗", "input": "", "output": "床前明月光"}, ensure_ascii=False),
            '{"instruction": "缺少引号}',
            json.dumps({"instruction": "只有问题"}, ensure_ascii=False),
            json.dumps({"instruction": "问题\f换页", "output": "回答"}, ensure_ascii=False),
            json.dumps(["not", "an", "object"]),
            "",
            json.dumps({"instruction": "好问题", "output": 42}, ensure_ascii=False),
            json.dumps({"instruction": "空回答", "output": " \n "}, ensure_ascii=False),
        ]) + "\n",
        encoding="utf-8",
    )
    records, invalid = _split(list(iter_import([path], "alpaca", "demo", SETTINGS)))
    # Raw text is kept: the form feed is the cleaner's to repair, not a reason to reject (line 4).
    assert [r.provenance.location for r in records] == [f"{path}:1", f"{path}:4"]
    assert records[1].record.instruction == "问题\f换页"
    by_line = {i.location: i.reason for i in invalid}
    assert by_line == {
        f"{path}:2": "json_decode",
        f"{path}:3": "missing_field",
        f"{path}:5": "wrong_type",
        f"{path}:7": "wrong_type",
        f"{path}:8": "schema",
    }
    schema_error = next(i for i in invalid if i.reason == "schema")
    assert "output" in schema_error.detail and "空回答" in schema_error.raw


def test_parquet_input_and_json_lines_named_json(tmp_path: Path) -> None:
    rows = [{"instruction": f"问题{i}", "input": "", "output": f"回答{i}"} for i in range(5)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet")
    (tmp_path / "b.json").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    records, invalid = _split(list(iter_import([tmp_path / "a.parquet", tmp_path / "b.json"], "alpaca", "x", SETTINGS)))
    assert not invalid and [r.record.instruction for r in records] == [r["instruction"] for r in rows] * 2
    assert records[3].provenance.location == f"{tmp_path / 'a.parquet'}#3"
    assert records[5].provenance.location == f"{tmp_path / 'b.json'}:1"


def test_unknown_format_and_bad_source_name_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown import format"):
        list(iter_import([tmp_path / "x.jsonl"], "dolly", "x", SETTINGS))
    with pytest.raises(ValueError, match="not a config name"):
        list(iter_import([tmp_path / "x.jsonl"], "alpaca", "../x", SETTINGS))
    # an unsupported file type is a reject naming the file (test_hostile_inputs), not a stop


def test_llamafactory_v1_content_parts(samples_dir: Path) -> None:
    """LLaMA-Factory v1 messages carry content as a list of `{"type": "text", "value"}` parts."""
    path = samples_dir / "instruct_zh" / "llama-factory__v1_sft_demo.first200.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    records, invalid = _split(list(iter_import([path], "sharegpt", "coig_pc", SETTINGS)))
    assert not invalid and len(records) == len(rows) == 200
    assert records[0].record.instruction == "hi"
    assert records[0].record.output == rows[0]["messages"][1]["content"][0]["value"]


def test_content_parts_that_are_not_text_are_rejected(tmp_path: Path) -> None:
    # Hand-written in the OpenAI chat format (image_url part): importing only its text would lose the image.
    path = tmp_path / "multimodal.jsonl"
    row = {"messages": [{"role": "user", "content": [{"type": "text", "text": "图里是什么？"},
                                                     {"type": "image_url", "image_url": {"url": "x.png"}}]},
                        {"role": "assistant", "content": "一只猫。"}]}
    ok = {"messages": [{"role": "user", "content": [{"type": "text", "text": "你好，"}, {"type": "text", "text": "在吗？"}]},
                       {"role": "assistant", "content": "在的。"}]}
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in (row, ok)) + "\n", encoding="utf-8")
    records, invalid = _split(list(iter_import([path], "sharegpt", "coig_pc", SETTINGS)))
    assert [i.reason for i in invalid] == ["non_text_content"] and invalid[0].location == f"{path}:1"
    assert [r.record.instruction for r in records] == ["你好，在吗？"]


def test_preference_pairs_take_the_chosen_reply(samples_dir: Path) -> None:
    path = samples_dir / "instruct_zh" / "llama-factory__dpo_zh_demo.first60.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    records, invalid = _split(list(iter_import([path], "sharegpt", "coig_pc", SETTINGS)))
    assert not invalid and len(records) == len(raw) == 60
    first = records[0]
    assert first.record.instruction == raw[0]["conversations"][0]["value"]
    assert first.record.output == raw[0]["chosen"]["value"]
    assert first.provenance.extra["preference"]["rejected"] == raw[0]["rejected"]


def test_coig_cqia_expert_answers_are_human_with_the_upstream_value_kept(samples_dir: Path) -> None:
    path = samples_dir / "coig_cqia" / "COIG-CQIA__human_value_100poison.first120.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    records, invalid = _split(list(iter_import([path], "coig-cqia", "human_value", SETTINGS)))
    assert not invalid and len(records) == len(rows)
    expert = [r for r, row in zip(records, rows, strict=True) if row["answer_from"] == "expert"]
    assert len(expert) == 16
    assert all(r.record.answer_from == "human" and r.provenance.extra["answer_from_upstream"] == "expert" for r in expert)
    assert all("answer_from_upstream" not in r.provenance.extra for r in records if r not in expert)


# Hand-written items for the fast path: values whose JSON forms could differ between orjson and
# pydantic-core (floats, big integers, escapes, control and line-separator characters), items the
# models reject, and the optional alpaca/sharegpt members that land in provenance.
_EDGE_ALPACA = [
    {"instruction": "浮点", "input": "", "output": "值", "history": [[1e16, 0.1], [-0.0, 1.5e-7], [1e308, 5e-324]]},
    {"instruction": "整数", "output": "值", "system": "s", "history": [[2**63 - 1, -(2**63)], [2**63, 2**64 - 1]]},
    {"instruction": "转义 \" \\ / \b\f\n\r\t \x00\x1f\x7f\x80\x9f \u2028\u2029 \ufeff", "input": None, "output": "😀𠀀"},
    {"instruction": "全角　空格", "input": "ＡＢＣ，１２３", "output": "（第一题）…"},
    {"instruction": "\u3000 ", "output": "只有全角空格的问题"},
    {"instruction": "空回答", "output": " \n\t"},
    {"instruction": "类型", "output": 42},
    {"instruction": "嵌套", "output": "值", "history": [{"a": [{"b": None, "c": True, "d": False}]}], "extra": "ignored"},
    {"instruction": "空的可选项", "output": "值", "system": "", "history": []},
    {"output": "缺少问题"},
]
_EDGE_SHAREGPT = [
    {"conversations": [{"from": "human", "value": "问"}, {"from": "gpt", "value": "答"}], "tools": [{"x": 1.25e-3}]},
    {"messages": [{"role": "system", "content": "系统"}, {"role": "user", "content": [{"type": "text", "text": "部"},
                  {"type": "text", "text": "分"}]}, {"role": "assistant", "content": "答"}]},
    {"conversations": [{"from": "human", "value": "偏好"}], "chosen": {"from": "gpt", "value": "好"}, "rejected": "坏"},
    {"conversations": [{"from": "human", "value": "问"}, {"from": "gpt", "value": "  "}]},
    {"conversations": [{"from": "gpt", "value": "没有问题"}]},
    {"conversations": "not a list"},
]


def _edge_file(tmp_path: Path, name: str, rows: list) -> Path:
    path = tmp_path / name
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    lines += ['{"instruction": "大整数", "output": "值", "history": [123456789012345678901234567890]}', "[1, 2]", "{bad"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_fast_path_writes_exactly_the_model_bytes(samples_dir: Path, tmp_path: Path) -> None:
    """`as_json` output is, item by item, the model path's record serialised as the runner does
    (pydantic-core) or the very same reject: over every real instruction sample and edge items."""
    files = {"alpaca": [_edge_file(tmp_path, "edge.jsonl", _EDGE_ALPACA)],
             "sharegpt": [_edge_file(tmp_path, "edge_sharegpt.jsonl", _EDGE_SHAREGPT)]}
    for path in sorted((samples_dir / "instruct_zh").iterdir()) + sorted((samples_dir / "coig_cqia").iterdir()):
        for fmt in files:
            files[fmt].append(path)
    fast_records = 0
    for fmt, paths in files.items():
        for answer_from in (None, "llm"):
            slow = list(iter_import(paths, fmt, "demo", SETTINGS, answer_from=answer_from))
            fast = list(iter_import(paths, fmt, "demo", SETTINGS, answer_from=answer_from, as_json=True))
            assert len(slow) == len(fast)
            for model, out in zip(slow, fast, strict=True):
                if isinstance(out, bytes):
                    assert isinstance(model, CuratedRecord)
                    assert out == model.__pydantic_serializer__.to_json(model), model.provenance.location
                    fast_records += 1
                else:
                    assert out == model
    assert fast_records > 1000  # the fast path is taken for the plain items
    assert any(isinstance(x, InvalidItem) and x.reason == "schema" for x in fast)  # blank output: model path


def test_fast_path_is_off_when_the_settings_do_not_validate(samples_dir: Path) -> None:
    """A setting the model rejects (an empty domain) fails every item: on the model path, with its message."""
    path = samples_dir / "instruct_zh" / "llama-factory__alpaca_zh_demo.json"
    bad = SETTINGS.model_copy(update={"domain": []})
    slow = list(iter_import([path], "alpaca", "demo", bad))
    fast = list(iter_import([path], "alpaca", "demo", bad, as_json=True))
    assert fast == slow and all(isinstance(x, InvalidItem) and x.reason == "schema" for x in fast)
