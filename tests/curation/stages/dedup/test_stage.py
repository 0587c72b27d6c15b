"""The dedup stage over a run dir: exact + near clusters, keep policy, report, rejects, resume."""

from __future__ import annotations

import json
import random
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
import pytest

from curation.pipeline.runner import run_stage
from curation.stages.dedup import DedupConfig, dedup_stage
from curation.stages.dedup.stage import REPORT, SUMMARY
from schemas import CuratedRecord
from tests.curation.stages.dedup.helpers import make_record, upstream_run


def _real_records(samples_dir: Path, n: int = 120) -> list[CuratedRecord]:
    rows = json.loads((samples_dir / "instruct_zh" / "llama-factory__alpaca_zh_demo.json").read_text("utf-8"))
    out, seen = [], set()
    for row in rows:
        if row["instruction"] in seen or len(row["output"]) < 40:
            continue
        seen.add(row["instruction"])
        out.append(make_record(row["instruction"], row["output"], input=row["input"], source="alpaca"))
        if len(out) == n:
            break
    return out


def _typos(text: str, k: int, seed: int) -> str:
    rng = random.Random(seed)
    chars = list(text)
    for _ in range(k):
        chars[rng.randrange(len(chars))] = rng.choice("的一是了我不人在他有这")
    return "".join(chars)


def _run(run_dir: Path, records: list[CuratedRecord], config: DedupConfig, shard_size: int = 20_000):
    run = upstream_run(run_dir, records, shard_size=shard_size)
    result = run_stage(run, dedup_stage(run, "filter", config), progress=False)
    kept = {r.id: r for r in run.iter_records("dedup")}
    rejects = {row["id"]: row for row in run.iter_rejects("dedup")}
    return run, result.manifest, kept, rejects


def test_exact_and_near_duplicates_across_sources(run_dir: Path, samples_dir: Path) -> None:
    base = _real_records(samples_dir)
    a, b = base[0], base[1]
    exact_copy = make_record(a.record.instruction, a.record.output.replace("，", ","),
                             source="zhihu", input=a.record.input, key="copy")  # other source, same text
    near_copy = make_record(b.record.instruction, _typos(b.record.output, 2, 1), source="ruozhiba",
                            input=b.record.input, key="near")
    records = base + [exact_copy, near_copy]
    run, manifest, kept, rejects = _run(run_dir, records, DedupConfig(workers=2), shard_size=25)

    assert manifest["counts"]["dropped"] == {"exact_duplicate": 1, "near_duplicate": 1}
    assert rejects[exact_copy.id]["detail"] == f"kept={a.id}"
    assert rejects[near_copy.id]["reason"] == "near_duplicate"
    assert rejects[near_copy.id]["detail"].startswith(f"kept={b.id} similarity=")
    assert kept[a.id].stats["dedup_cluster"] == a.id and kept[a.id].stats["dedup_cluster_size"] == 2
    assert rejects[near_copy.id]["record"]["stats"]["dedup_cluster"] == b.id
    assert "dedup_cluster" not in kept[base[2].id].stats  # singletons carry no cluster
    assert len(kept) == len(base)

    report = [orjson.loads(line) for line in (run.stage_dir("dedup") / REPORT).read_bytes().splitlines()]
    assert {r["cluster"] for r in report} == {a.id, b.id}
    by_cluster = {r["cluster"]: r for r in report}
    assert by_cluster[b.id]["removed"][0]["id"] == near_copy.id
    assert 0.7 <= by_cluster[b.id]["removed"][0]["similarity"] < 1.0
    summary = json.loads((run.stage_dir("dedup") / SUMMARY).read_text())
    assert summary["bands"] == 25 and summary["rows"] == 10


def test_keep_policy_prefers_votes_then_length(run_dir: Path) -> None:
    q = "如何在家里做一份好吃的番茄炒蛋？"
    answer = "先把鸡蛋打散炒至凝固盛出，再下番茄翻炒出汁，加入少许盐和糖，最后倒回鸡蛋翻匀即可出锅。"
    few = make_record(q, answer, votes=3, key="few")
    many = make_record(q, answer + "！", votes=120, key="many")  # exact dup after normalization
    longer = make_record(q, answer + "也可以撒一点葱花提香。", key="longer")  # near dup, no votes
    _, _, kept, rejects = _run(run_dir, [few, many, longer], DedupConfig(workers=1, threshold=0.6))
    assert list(kept) == [many.id]
    assert rejects[few.id]["reason"] == "exact_duplicate"
    assert rejects[longer.id]["reason"] == "near_duplicate"
    assert rejects[few.id]["detail"] == f"kept={many.id}"


def test_different_texts_are_not_merged(run_dir: Path, samples_dir: Path) -> None:
    base = _real_records(samples_dir, 80)
    # Same question, different answers: a near duplicate only by instruction, not by whole text.
    twin = make_record(base[0].record.instruction, "这个问题可以换个角度看：先弄清楚题目到底问的是什么，再分点作答，最后举一个生活中的例子。",
                       input=base[0].record.input, key="twin")
    _, manifest, kept, rejects = _run(run_dir, base + [twin], DedupConfig(workers=1))
    assert manifest["counts"]["dropped_total"] == 0, list(rejects.values())
    assert len(kept) == 81


def test_per_source_scope_keeps_cross_source_copies(run_dir: Path, samples_dir: Path) -> None:
    a = _real_records(samples_dir, 1)[0]
    copy = make_record(a.record.instruction, a.record.output, input=a.record.input, source="zhihu", key="c")
    _, manifest, _, _ = _run(run_dir, [a, copy], DedupConfig(across_sources=False))
    assert manifest["counts"]["dropped_total"] == 0


def test_deterministic_and_parallel_equals_serial(tmp_path: Path, samples_dir: Path) -> None:
    base = _real_records(samples_dir, 100)
    records = base + [make_record(r.record.instruction, _typos(r.record.output, 1, i), input=r.record.input,
                                  key=f"v{i}") for i, r in enumerate(base[:30])]
    outputs = []
    for workers, shard in ((1, 20_000), (2, 17)):
        run, _, _, _ = _run(tmp_path / f"w{workers}", records, DedupConfig(workers=workers), shard_size=shard)
        outputs.append(((run.stage_dir("dedup") / REPORT).read_bytes(),
                        [r.model_dump() for r in run.iter_records("dedup")]))
    assert outputs[0] == outputs[1]
    assert outputs[0][0].count(b"\n") >= 25  # most of the 30 one-typo variants are found


def test_word_shingles_option(run_dir: Path) -> None:
    q = "请介绍一下长城的历史。"
    a = "长城始建于春秋战国时期，秦朝统一后连接成万里长城，明朝又大规模修筑，成为今天看到的样子。"
    b = a.replace("大规模", "大范围")
    records = [make_record(q, a, key="a"), make_record(q, b, key="b")]
    _, manifest, _, rejects = _run(run_dir, records, DedupConfig(shingle="word", ngram=2, threshold=0.6))
    assert manifest["counts"]["dropped"] == {"near_duplicate": 1}


def test_config_rejects_inconsistent_bands() -> None:
    with pytest.raises(ValueError):
        DedupConfig(bands=30, rows=10)
    with pytest.raises(ValueError):
        DedupConfig(bands=4)


def test_curate_chain_builder_uses_recipe_section(run_dir: Path) -> None:
    from curation.pipeline.recipe import Recipe
    from curation.stages.dedup import build_stage

    q, a = "长城有多长？", "明长城全长约八千八百五十公里，加上其他朝代修筑的部分，总长度超过两万公里。"
    run = upstream_run(run_dir, [make_record(q, a, key="1"), make_record(q, a + " ", key="2")])
    recipe = Recipe.model_validate({"dedup": {"threshold": 0.8, "workers": 1}})
    manifest = run_stage(run, build_stage(run, "filter", recipe), progress=False).manifest
    assert manifest["params"]["threshold"] == 0.8 and manifest["params"]["bands"] > 0
    assert manifest["counts"]["dropped"] == {"exact_duplicate": 1}


def _variants(samples_dir: Path) -> list[CuratedRecord]:
    """150 real records plus exact copies (some under another source) and one- to three-typo
    variants placed far from their originals, so clusters span shards."""
    base = _real_records(samples_dir, 150)
    rng = random.Random(7)
    extra = []
    for i, r in enumerate(rng.sample(base, 60)):
        source = "zhihu" if i % 4 == 0 else r.source
        text = r.record.output if i % 5 == 0 else _typos(r.record.output, 1 + i % 3, i)
        extra.append(make_record(r.record.instruction, text, input=r.record.input, source=source, key=f"x{i}",
                                 votes=float(i) if i % 3 == 0 else None))
    return [*base[:75], *extra[:30], *base[75:], *extra[30:]]


@pytest.mark.parametrize(("across_sources", "per_bucket"), [(True, None), (False, None), (True, 64), (False, 64)])
def test_three_phases_give_the_single_pass_clusters(tmp_path: Path, samples_dir: Path, across_sources: bool,
                                                    per_bucket: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stage (signatures per shard in 2 worker processes, clustering through bucket files,
    filter per shard) against the single in-memory pass (`find_duplicates`, `cluster_rows`) on
    the same rows: every row gets the same decision, kept record, cluster size and similarity.
    per_bucket=64: 83 band buckets and 14 exact buckets instead of one of each, so groups and
    edges are found bucket by bucket and merged."""
    from curation.pipeline.executors import LocalExecutor
    from curation.stages.dedup import buckets, find_duplicates
    from curation.stages.dedup.cluster import KEEP, REASONS
    from curation.stages.dedup.scan import scan_rows

    if per_bucket:
        monkeypatch.setattr(buckets, "ENTRIES_PER_BUCKET", per_bucket)
    records = _variants(samples_dir)
    config = DedupConfig(across_sources=across_sources)
    run = upstream_run(tmp_path / "run", records, shard_size=23)
    shards = len(run.shard_paths("filter"))
    assert shards >= 8
    manifest = run_stage(run, dedup_stage(run, "filter", config), progress=False, executor=LocalExecutor(2)).manifest
    assert manifest["tasks"] == shards and not (run.stage_dir("dedup") / "_dedup").exists()

    rows = [orjson.loads(r.model_dump_json()) for r in records]
    reference = find_duplicates([scan_rows(rows, config)], config)
    assert reference.info["near_duplicates"] > 10 and reference.info["exact_duplicates"] > 3

    out: dict[str, tuple[str, dict]] = {r.id: ("kept", r.stats) for r in run.iter_records("dedup")}
    out.update({row["id"]: (row["reason"], row["record"]["stats"]) for row in run.iter_rejects("dedup")})
    assert len(out) == len(records)
    for i, record in enumerate(records):
        decision, stats = out[record.id]
        reason = int(reference.reason[i])
        assert decision == ("kept" if reason == KEEP else REASONS[reason]), record.id
        size = int(reference.cluster_size[i])
        assert stats.get("dedup_cluster_size", 1) == size
        if size > 1:
            assert stats["dedup_cluster"] == reference.ids[int(reference.kept[i])]
            sim = float(reference.similarity[i])
            assert stats.get("dedup_similarity") == (None if sim != sim else round(sim, 4))
    summary = json.loads((run.stage_dir("dedup") / SUMMARY).read_text())
    for key in ("exact_duplicates", "near_duplicates", "clusters", "candidate_pairs", "edges"):
        assert summary[key] == reference.info[key], key


def test_killed_filter_phase_resumes_without_rescanning(tmp_path: Path, samples_dir: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from curation.pipeline.executors import LocalExecutor
    from curation.stages.dedup import stage as dedup_module

    records = _variants(samples_dir)
    run = upstream_run(tmp_path / "run", records, shard_size=50)
    reference = upstream_run(tmp_path / "ref", records, shard_size=50)
    run_stage(reference, dedup_stage(reference, "filter"), progress=False)

    scans: list[int] = []
    real_scan = dedup_module.scan_shard
    monkeypatch.setattr(dedup_module, "scan_shard", lambda job, i: scans.append(i) or real_scan(job, i))
    stage = dedup_stage(run, "filter")
    assert stage.tasks is not None
    third = stage.tasks[2]

    def interrupted(skip: int):
        yield from islice(third(skip), 10)
        raise KeyboardInterrupt

    stage.tasks = [*stage.tasks[:2], interrupted, *stage.tasks[3:]]
    inline = LocalExecutor(1)  # in this process, so the counting wrapper sees the calls
    with pytest.raises(KeyboardInterrupt):
        run_stage(run, stage, progress=False, executor=inline)
    assert sorted(scans) == list(range(len(run.shard_paths("filter")))) and (run.stage_dir("dedup") / "_dedup" / "clustered.json").exists()
    scans.clear()
    result = run_stage(run, dedup_stage(run, "filter"), progress=False, executor=inline)
    assert scans == [] and result.resumed_from == 2 * 50  # tasks 0 and 1 were complete  # signatures and clusters came from the first attempt's files
    for name in ("clusters.jsonl",):
        assert (run.stage_dir("dedup") / name).read_bytes() == (reference.stage_dir("dedup") / name).read_bytes()
    assert ([p.read_bytes() for p in run.shard_paths("dedup")] ==
            [p.read_bytes() for p in reference.shard_paths("dedup")])
def _distinct_records(samples_dir: Path, n: int, seed: int) -> list[CuratedRecord]:
    """n records of 4 real sentences each (distinct), every tenth a typo'd copy of an earlier one."""
    import re

    rows = json.loads((samples_dir / "instruct_zh" / "llama-factory__alpaca_zh_demo.json").read_text("utf-8"))
    sentences = sorted({s for row in rows for s in re.split(r"(?<=[。！？])", row["output"]) if 10 <= len(s) <= 60})
    rng = random.Random(seed)
    out: list[CuratedRecord] = []
    for i in range(n):
        if i % 10 == 9:
            src = out[rng.randrange(len(out))]
            out.append(make_record(src.record.instruction, _typos(src.record.output, 2, i), key=f"{seed}-{i}"))
        else:
            out.append(make_record(f"请解释第{i}条。", "".join(rng.sample(sentences, 4)), key=f"{seed}-{i}"))
    return out


def _analyze_peak(run_dir: Path, records: list[CuratedRecord]) -> tuple[int, dict[str, Any]]:
    """Peak traced memory of dedup's first two phases in this process: the signature phase runs
    in two forked workers (their files go to the stage's scratch folder), the clustering phase
    here, reading the compact keys, band columns and candidate signatures from those files."""
    import tracemalloc

    from curation.pipeline.executors import LocalExecutor

    run = upstream_run(run_dir, records, shard_size=1000)
    stage = dedup_stage(run, "filter", DedupConfig(workers=2))
    assert stage.prepare is not None
    tracemalloc.start()
    try:
        stage.prepare(LocalExecutor(2))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, json.loads((run.stage_dir("dedup") / SUMMARY).read_text())


def test_main_process_memory_does_not_hold_signatures(tmp_path: Path, samples_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12: the clustering pass kept every MinHash signature and band key in memory (~1.2 KB
    per record, ~4 GB at 2M records); they now live in scratch files, and the clustering phase
    holds one shard's or one bucket's keys at a time (buckets.py). Measured with tracemalloc
    (numpy reports its buffers to it) in the main process, where the shards' scans arrive from the
    workers: the growth of the peak per added record (after a first run has done the lazy imports,
    which tracemalloc would count too). Buckets of 4,096 entries, so that 3,000 and 9,000 records
    are both many buckets (at the default size both would fit in one, which grows with them)."""
    from curation.stages.dedup import buckets

    monkeypatch.setattr(buckets, "ENTRIES_PER_BUCKET", 4096)
    _analyze_peak(tmp_path / "warm-up", _distinct_records(samples_dir, 500, 2))
    small, result_small = _analyze_peak(tmp_path / "a", _distinct_records(samples_dir, 3000, 1))
    large, result_large = _analyze_peak(tmp_path / "b", _distinct_records(samples_dir, 9000, 1))
    assert result_small["near_duplicates"] > 0 and result_large["near_duplicates"] > 0
    per_record = (large - small) / 6000
    # signatures alone are num_perm * 4 = 1024 bytes per record (1,677 bytes per added record were
    # measured before issue 12, ~1,350 with the whole-column clustering of the ray branch at these
    # sizes); what still grows is what the duplicates hold (one in ten of these records is a near
    # duplicate): their candidate edges (one per shared band until merged) and cluster members
    assert per_record < 300, f"{per_record:.0f} bytes per added record"


def test_scan_workers_end_with_a_killed_parent(tmp_path: Path, samples_dir: Path) -> None:
    """Issue 12: after `kill -9` of a dedup run, its scan workers hung for ever (blocked writing a
    result nobody reads). A real `cqia dedup` process is killed while its workers scan."""
    import subprocess
    import sys
    import time

    import psutil

    run = upstream_run(tmp_path / "run", _distinct_records(samples_dir, 20_000, 3), shard_size=500)
    proc = subprocess.Popen([sys.executable, "-m", "curation.cli", "dedup", str(run.root), "--upstream", "filter",
                             "--workers", "2"], cwd=Path(__file__).resolve().parents[4],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "no scan workers started"
            workers = psutil.Process(proc.pid).children()
            time.sleep(0.05)
        time.sleep(1.0)  # let them take work
        proc.kill()
        proc.wait(10)
        _, alive = psutil.wait_procs(workers, timeout=15)
        assert not alive, f"scan workers outlived their killed parent: {[p.pid for p in alive]}"
    finally:
        for worker in workers:  # only the workers this test's process started
            if worker.is_running():
                worker.kill()
        if proc.poll() is None:
            proc.kill()


def _poems(samples_dir: Path, n: int = 30) -> list[tuple[str, str]]:
    """(title, body) of real Tang poems in traditional script (chinese-poetry sample)."""
    poems = json.loads((samples_dir / "classical" / "chinese-poetry__全唐诗_唐诗三百首.json").read_text("utf-8"))
    out = [(p["title"], "".join(p["paragraphs"])) for p in poems if len("".join(p["paragraphs"])) >= 40]
    return out[:n]


def test_traditional_and_simplified_copies_match_only_with_script_folding(run_dir: Path, samples_dir: Path) -> None:
    import opencc

    from curation.stages.dedup.minhash import MinHasher, jaccard
    from curation.text.normalize import normalize_text

    t2s = opencc.OpenCC("t2s")  # the reference converter, not the one dedup uses
    poems = _poems(samples_dir)
    base = [make_record(f"请背诵《{t}》。", body, source="chinese_traditional") for t, body in poems]
    title, body = poems[0]
    simplified = make_record(f"请背诵《{t2s.convert(title)}》。", t2s.convert(body), source="wiki", key="s")
    # Taiwan phrasing (軟體, 滑鼠, 預設, 作業系統, 印表機, 網路) against the mainland wording of the same question
    taiwan = make_record("請問如何在軟體中設定滑鼠的預設速度？", "我的電腦是筆記型電腦，作業系統是最新版本，印表機也連不上網路。"
                         "請一步一步說明設定方法。", source="zhihu", key="tw")
    mainland = make_record("请问如何在软件中设置鼠标的默认速度？", "我的电脑是笔记本电脑，操作系统是最新版本，打印机也连不上网络。"
                           "请一步一步说明设置方法。", source="zhihu", key="cn")
    plain_copy = make_record(base[1].record.instruction, base[1].record.output, source="wiki", key="plain")
    records = [*base, simplified, taiwan, mainland, plain_copy]

    # Without folding the pairs share almost no character 5-grams.
    hasher = MinHasher(ngram=5)

    def text(r: CuratedRecord) -> str:
        return f"{r.record.instruction}\n{r.record.output}"

    for a, b in ((base[0], simplified), (taiwan, mainland)):
        sa, sb = (set(hasher.shingles([normalize_text(text(r))])[0].tolist()) for r in (a, b))
        assert jaccard(sa, sb) < 0.2

    _, off, _, rejects_off = _run(run_dir / "off", records, DedupConfig(workers=1, fold_script=False))
    assert set(rejects_off) == {plain_copy.id}

    run, on, kept, rejects = _run(run_dir / "on", records, DedupConfig(workers=1))
    assert set(rejects) == {simplified.id, mainland.id, plain_copy.id}
    assert rejects[simplified.id]["reason"] == "exact_duplicate"
    assert rejects[mainland.id]["reason"] == "near_duplicate"  # 預設 -> 预设, not 默认: near, not exact
    clusters = {c["cluster"]: c for c in map(json.loads, (run.stage_dir("dedup") / REPORT).read_text().splitlines())}
    by_removed = {m["id"]: m for c in clusters.values() for m in c["removed"]}
    for rid in (simplified.id, mainland.id):
        assert by_removed[rid]["script_folded"] is True
        assert by_removed[rid]["similarity_unfolded"] < 0.7
        assert rejects[rid]["record"]["stats"]["dedup_script_folded"] is True
    # a copy in the same (traditional) script: folding touched both sides but the match never needed it
    assert by_removed[plain_copy.id]["script_folded"] is False
    assert by_removed[plain_copy.id]["similarity_unfolded"] == 1.0
    summary = json.loads((run.stage_dir("dedup") / SUMMARY).read_text())
    assert summary["script_folded_duplicates"] == 2 and summary["rows_changed_by_script_folding"] >= len(base)


def test_rows_outside_clusters_are_written_as_their_upstream_lines(run_dir: Path, samples_dir: Path) -> None:
    """Phase 3 writes a row that is in no cluster as the upstream line itself (no model round
    trip): the same bytes the model path writes, and per-source counts still right."""
    from curation.pipeline.rows import row_json

    base = _real_records(samples_dir, 40)
    copy = make_record(base[0].record.instruction, base[0].record.output, source="zhihu",
                       input=base[0].record.input, key="copy")
    run, manifest, kept, rejects = _run(run_dir, [*base, copy], DedupConfig(workers=2), shard_size=15)
    upstream = {orjson.loads(line)["id"]: line
                for path in run.shard_paths("filter") for line in path.read_bytes().splitlines()}
    written = [line for path in run.shard_paths("dedup") for line in path.read_bytes().splitlines()]
    assert len(written) == len(base) and set(rejects) == {copy.id}
    for line in written:
        row = orjson.loads(line)
        assert line == row_json(row)  # what the model path writes
        if row["id"] == base[0].id:  # the cluster's kept row gains its cluster stats
            assert row["stats"]["dedup_cluster_size"] == 2 and line != upstream[row["id"]]
        else:
            assert line == upstream[row["id"]]
    by_source = manifest["counts"]["by_source"]
    assert by_source["alpaca"]["kept"] == len(base) and by_source["zhihu"]["dropped_total"] == 1
