"""A corpus of hostile input files, generated at test time (nothing here is copied from a dataset).

Each builder writes one file (or directory, or symlink) into a folder and returns a `Hostile`
describing it: which reader family it targets and, when it is knowable, how many items the file
holds, so a test can check that records + rejects account for every one of them.
The well-formed base files imitate the layouts of the real samples: alpaca JSON arrays
(llama-factory alpaca_zh_demo.json), COIG-CQIA JSONL, CMMLU CSV, GAOKAO-Bench JSON and
chinese-poetry JSON; the texts are written here.
"""

from __future__ import annotations

import codecs
import decimal
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


@dataclass(frozen=True)
class Hostile:
    name: str
    path: Path
    family: str  # 'instruct', 'cmmlu', 'gaokao', 'poems', 'ruozhiba'
    items: int | None  # items in the file when knowable (None: damage makes the count unknowable)


def alpaca_items(n: int, start: int = 0) -> list[dict]:
    return [{"instruction": f"请解释成语“画蛇添足”的含义（第{i}题）", "input": "",
             "output": f"“画蛇添足”比喻做了多余的事，反而不恰当。这是第{i}个回答。"} for i in range(start, start + n)]


def gaokao_doc(n: int, keywords: str = "2010-2022_Chinese_Lang_and_Usage_MCQs") -> dict:
    return {"keywords": keywords, "example": [
        {"year": "2010", "category": "（新课标）", "score": 3, "index": i, "answer": ["B"],
         "question": f"{i + 1}．下列词语中，没有错别字的一组是（　　）\nA．安祥 B．安详 C．按祥 D．案详",
         "analysis": "【解答】B项书写正确。故选B。"} for i in range(n)]}


def poems(n: int) -> list[dict]:
    return [{"title": f"静夜思其{i}", "author": "李白", "id": f"poem-{i}",
             "paragraphs": ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"]} for i in range(n)]


def cmmlu_csv(n: int, long_cell_row: int | None = None, cell_size: int = 200_000) -> str:
    lines = [",Question,A,B,C,D,Answer"]
    for i in range(n):
        question = "下列哪一项是正确的？" + ("长" * cell_size if i == long_cell_row else "")
        lines.append(f"{i},{question},甲,乙,丙,丁,B")
    return "\n".join(lines) + "\n"


def deep(levels: int = 300) -> object:
    return json.loads("[" * levels + "]" * levels)


def _dump(obj: object, indent: int | None = 2) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=indent).encode("utf-8")


def parquet_corrupt_group(path: Path, rows: int = 300, group: int = 100) -> None:
    """Three row groups; the second one's compressed pages are overwritten (Corrupt snappy)."""
    pq.write_table(pa.Table.from_pylist(alpaca_items(rows)), path, row_group_size=group, compression="snappy")
    column = pq.ParquetFile(path).metadata.row_group(1).column(2)
    start = column.dictionary_page_offset or column.data_page_offset
    data = bytearray(path.read_bytes())
    for k in range(start + 40, start + 200):  # inside the snappy stream: 'Corrupt snappy compressed data'
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))


def parquet_extra_columns(path: Path, rows: int = 5) -> None:
    """Alpaca columns plus a binary, a decimal and a timestamp column."""
    table = pa.Table.from_pylist(alpaca_items(rows))
    table = table.append_column("blob", pa.array([bytes([i, 0xFF, 0x00]) if i % 2 else "文本".encode() for i in range(rows)],
                                                 type=pa.binary()))
    table = table.append_column("price", pa.array([decimal.Decimal(f"{i}.10") for i in range(rows)],
                                                  type=pa.decimal128(10, 2)))
    table = table.append_column("when", pa.array([1_700_000_000_000 + i for i in range(rows)], type=pa.timestamp("ms")))
    pq.write_table(table, path)


def parquet_bad_utf8_instruction(path: Path, rows: int = 4, bad_row: int = 1) -> None:
    """A string column whose bytes at one row are not UTF-8 (written through a binary view)."""
    items = alpaca_items(rows)
    raw = [it["instruction"].encode() if i != bad_row else b"\xff\xfe\xb0\xa1 bad" for i, it in enumerate(items)]
    table = pa.table({"instruction": pa.array(raw, type=pa.binary()).view(pa.string()),
                      "input": [it["input"] for it in items], "output": [it["output"] for it in items]})
    pq.write_table(table, path)


def _bad_byte(data: bytes, marker: str) -> bytes:
    at = data.index(marker.encode("utf-8"))
    return data[:at] + b"\xff" + data[at + 1 :]


def build_corpus(folder: Path) -> list[Hostile]:
    """Write every hostile file into `folder`; return their descriptions."""
    folder.mkdir(parents=True, exist_ok=True)
    out: list[Hostile] = []

    def add(name: str, family: str, items: int | None, write: Callable[[Path], None]) -> None:
        path = folder / name
        write(path)
        out.append(Hostile(name, path, family, items))

    array = _dump(alpaca_items(200))
    add("array.json", "instruct", 200, lambda p: p.write_bytes(array))
    add("array_bom.json", "instruct", 200, lambda p: p.write_bytes(codecs.BOM_UTF8 + array))
    add("array_utf16.json", "instruct", 200, lambda p: p.write_bytes(array.decode().encode("utf-16")))
    add("array_gbk.json", "instruct", 200, lambda p: p.write_bytes(array.decode().encode("gbk")))
    add("array_bad_byte.json", "instruct", 200, lambda p: p.write_bytes(_bad_byte(array, "第57个回答")))
    add("array_minified.json", "instruct", 200, lambda p: p.write_bytes(_dump(alpaca_items(200), None)))
    add("array_truncated.json", "instruct", None, lambda p: p.write_bytes(array[: len(array) * 2 // 3]))
    add("array_deep_history.json", "instruct", 3, lambda p: p.write_bytes(_dump(
        [alpaca_items(1)[0], {**alpaca_items(1, 1)[0], "history": deep()}, alpaca_items(1, 2)[0]])))
    add("array_wrong_types.json", "instruct", 6, lambda p: p.write_bytes(_dump(
        [1, "x", None, [1, 2], {"instruction": 5, "output": []}, alpaca_items(1)[0]])))
    add("object_lists.json", "instruct", 5, lambda p: p.write_bytes(_dump(
        {"train": alpaca_items(3), "test": alpaca_items(2, 3), "version": "1.0"})))
    add("pandas_split.json", "instruct", 4, lambda p: p.write_bytes(_dump(
        {"columns": ["instruction", "input", "output"], "index": [0, 1, 2, 3],
         "data": [[it["instruction"], it["input"], it["output"]] for it in alpaca_items(4)]})))
    add("object_no_list.json", "instruct", 0, lambda p: p.write_bytes(_dump({"a": {"b": 1}})))
    lines = b"\n".join(_dump(it, None) for it in alpaca_items(50)) + b"\n"
    add("lines.jsonl", "instruct", 50, lambda p: p.write_bytes(lines))
    add("lines_bom.jsonl", "instruct", 50, lambda p: p.write_bytes(codecs.BOM_UTF8 + lines))
    add("lines_named.json", "instruct", 50, lambda p: p.write_bytes(lines))
    add("lines_gbk.jsonl", "instruct", 50, lambda p: p.write_bytes(lines.decode().encode("gb18030")))
    add("lines_bad_byte.jsonl", "instruct", 50, lambda p: p.write_bytes(_bad_byte(lines, "第7个回答")))
    add("lines_deep.jsonl", "instruct", 2, lambda p: p.write_bytes(  # deeper than orjson parses (1024)
        b'{"instruction": "q", "output": "a", "history": ' + b"[" * 2000 + b"]" * 2000 + b"}\n"
        + _dump(alpaca_items(1)[0], None)))
    add("empty.json", "instruct", 0, lambda p: p.write_bytes(b""))
    add("empty.jsonl", "instruct", 0, lambda p: p.write_bytes(b""))
    add("whitespace.json", "instruct", 0, lambda p: p.write_bytes(b" \n\t\n"))
    add("binary.json", "instruct", None, lambda p: p.write_bytes(bytes(range(256)) * 4))
    add("dir.json", "instruct", 0, lambda p: p.mkdir())
    add("loop.json", "instruct", 0, lambda p: os.symlink(p, p))
    add("corrupt_group.parquet", "instruct", 300, parquet_corrupt_group)
    add("extra_columns.parquet", "instruct", 5, parquet_extra_columns)
    add("bad_utf8.parquet", "instruct", 4, parquet_bad_utf8_instruction)
    add("not_parquet.parquet", "instruct", 0, lambda p: p.write_bytes(b"PAR1 this is not parquet"))
    add("truncated.parquet", "instruct", None, lambda p: (parquet_extra_columns(p), p.write_bytes(p.read_bytes()[:-40])))

    add("cmmlu_long_cell.csv", "cmmlu", 5, lambda p: p.write_text(cmmlu_csv(5, long_cell_row=2), encoding="utf-8"))
    add("cmmlu_gbk.csv", "cmmlu", 5, lambda p: p.write_bytes(cmmlu_csv(5).encode("gbk")))
    add("cmmlu_bom.csv", "cmmlu", 5, lambda p: p.write_bytes(codecs.BOM_UTF8 + cmmlu_csv(5).encode()))
    add("cmmlu_bad_byte.csv", "cmmlu", 5, lambda p: p.write_bytes(_bad_byte(cmmlu_csv(5).encode(), "3,下列")))
    add("cmmlu_nul.csv", "cmmlu", 5, lambda p: p.write_bytes(cmmlu_csv(5).encode().replace(b"\xe4\xb9\x99", b"\x00", 1)))

    add("gaokao.json", "gaokao", 6, lambda p: p.write_bytes(_dump(gaokao_doc(6))))
    add("gaokao_deep.json", "gaokao", 3, lambda p: p.write_bytes(_dump(
        {**gaokao_doc(3), "example": [gaokao_doc(3)["example"][0], {**gaokao_doc(3)["example"][1], "year": deep()},
                                      gaokao_doc(3)["example"][2]]})))
    add("gaokao_huge_keywords.json", "gaokao", 3, lambda p: p.write_bytes(_dump(gaokao_doc(3, keywords="键" * 1_000_000))))
    add("gaokao_gbk.json", "gaokao", 6, lambda p: p.write_bytes(_dump(gaokao_doc(6)).decode().encode("gbk")))

    add("poems_deep.json", "poems", 3, lambda p: p.write_bytes(_dump(
        [poems(1)[0], {**poems(2)[1], "paragraphs": deep()}, poems(3)[2]])))
    add("poems_bom.json", "poems", 4, lambda p: p.write_bytes(codecs.BOM_UTF8 + _dump(poems(4))))
    return out
