"""Benchmark the annotation loop against a local Label Studio: push N tasks, pull N annotations.

    .venv/bin/python scripts/bench_annotation.py            # N = 50,000 (targets: ≤ 90 s each)
    .venv/bin/python scripts/bench_annotation.py --quick    # N = 2,000 (smoke)

Timed: (1) `push` of N records with predictions into a new project (task build + prediction
validation + batched import); (2) idempotent re-push (lists N tasks, imports nothing);
(3) `pull` of N annotations: snapshot export, verdict mapping and writing the `verified` stage.
The N annotations for (3) are seeded by importing tasks that carry an annotation (the community
edition creates single annotations at ~25/s, too slow to seed 50k through the UI path).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotation.client import Client, Connection  # noqa: E402
from annotation.configs import load_config  # noqa: E402
from annotation.server import start_server  # noqa: E402
from annotation.tasks import build_task  # noqa: E402
from curation.cli.annotate import fetch_verdicts, push_run, write_verified_stage  # noqa: E402
from curation.pipeline.rundir import RunDir  # noqa: E402
from curation.pipeline.runner import Stage, run_stage  # noqa: E402
from schemas import CuratedRecord, InstructionRecord, Provenance, TaskType, make_record_id  # noqa: E402

SOURCES = ("zhihu", "douban", "ruozhiba", "baike")


def make_records(n: int) -> list[CuratedRecord]:
    out = []
    for i in range(n):
        source = SOURCES[i % len(SOURCES)]
        out.append(CuratedRecord(
            id=make_record_id(source, str(i)), source=source,
            record=InstructionRecord(
                instruction=f"第{i}个问题：请解释一下为什么秋天树叶会变黄？" * 2, input="",
                output=f"第{i}个回答：因为叶绿素分解，类胡萝卜素显现出来。" * 6,
                task_type=TaskType(major=["问答"], minor=["百科问答"]), domain=["百科"],
                answer_from="llm" if source == "ruozhiba" else "human", human_verified=False),
            provenance=Provenance(source_id=str(i), url=f"https://example.org/{source}/{i}"),
            stats={"llm_score": (i % 10) / 10, "near_dup_cluster": i % 97, "char_len": 200},
        ))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 tasks instead of 50,000")
    parser.add_argument("-n", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    n = args.n or (2_000 if args.quick else 50_000)

    with tempfile.TemporaryDirectory(prefix="cqia-bench-ls-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        server = start_server(root / "ls", timeout=600)
        startup = time.perf_counter() - t0
        with server:
            client = Client(Connection(server.url, server.creds.token))
            client.check()
            run = root / "run"
            records = make_records(n)
            run_stage(RunDir(run), Stage("candidates", lambda skip: iter(records[skip:]), inputs=[],
                                         params={"n": n}), progress=False)
            common = {"stage": "candidates", "config": "verification", "sample": None, "stratify": "source",
                      "overlap": 1, "overlap_share": 0, "batch_size": args.batch_size, "client": client,
                      "label_config": load_config("verification"), "progress": False}
            t = time.perf_counter()
            pushed = push_run(run, "bench push", **common)
            push_s = time.perf_counter() - t
            t = time.perf_counter()
            repushed = push_run(run, "bench push", **common)
            repush_s = time.perf_counter() - t

            # seed N annotations (tasks imported with one annotation each), then time the pull
            proj, _ = client.ensure_project("bench pull", load_config("verification"))
            t = time.perf_counter()
            verdict_cycle = ("accept", "accept", "accept_with_edits", "reject")
            for start in range(0, n, args.batch_size):
                batch = []
                for i, record in enumerate(records[start:start + args.batch_size], start=start):
                    task = build_task(record, "verification", validate=False)
                    verdict = verdict_cycle[i % 4]
                    result = [{"from_name": "verdict", "to_name": "instruction", "type": "choices",
                               "value": {"choices": [verdict]}}]
                    if verdict == "reject":
                        result.append({"from_name": "reject_reason", "to_name": "output", "type": "choices",
                                       "value": {"choices": ["low_quality"]}})
                    if verdict == "accept_with_edits":
                        result.append({"from_name": "output_edit", "to_name": "output", "type": "textarea",
                                       "value": {"text": [record.record.output + "（已核对）"]}})
                    task["annotations"] = [{"result": result}]
                    task.pop("predictions", None)
                    batch.append(task)
                client.import_tasks(proj["id"], batch)
            seed_s = time.perf_counter() - t
            t = time.perf_counter()
            verdicts, _ = fetch_verdicts(client, "bench pull")
            export_s = time.perf_counter() - t
            manifest, tally = write_verified_stage(run, "candidates", verdicts, pushed={r.id for r in records},
                                                   project="bench pull", progress=False)
            pull_s = time.perf_counter() - t

    results = {
        "tasks": n, "batch_size": args.batch_size, "server_start_s": round(startup, 1),
        "push_s": round(push_s, 1), "push_tasks_per_s": round(n / push_s), "push_imported": pushed["imported"],
        "repush_noop_s": round(repush_s, 1), "repush_imported": repushed["imported"],
        "seed_annotations_s": round(seed_s, 1),
        "pull_s": round(pull_s, 1), "pull_export_s": round(export_s, 1),
        "pull_annotations": sum(len(v) for v in verdicts.values()), "pull_decisions": tally,
        "verified_kept": manifest["counts"]["kept"], "verified_dropped": manifest["counts"]["dropped_total"],
        "target_s": 90,
    }
    print(json.dumps(results, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
