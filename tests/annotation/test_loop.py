"""The loop against a REAL Label Studio: push, re-push, annotate as users, pull, status, errors."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotation.client import AuthError, Client, Connection, LSError, WrongURLError, login_token
from annotation.configs import load_config
from annotation.server import free_port, start_server
from annotation.tasks import PredictionError
from curation.cli import app
from curation.cli.annotate import fetch_verdicts, push_run
from curation.pipeline.rundir import RunDir
from tests.annotation.conftest import LS
from tests.annotation.helpers import annotate, as_user, make_stage, records_by_source


def _push(ls: LS, run: Path, project: str, **kw):
    opts = {"stage": None, "config": "verification", "sample": None, "stratify": "source", "overlap": 1,
            "overlap_share": None, "batch_size": 1000, **kw}
    return push_run(run, project, client=ls.client, label_config=load_config(opts["config"]), progress=False,
                    **opts)


def _task_ids(ls: LS, project: str) -> dict[str, list[int]]:
    proj = ls.client.find_project(project)
    out: dict[str, list[int]] = {}
    for task in ls.client.iter_tasks(proj["id"]):
        out.setdefault(task["data"]["record_id"], []).append(task["id"])
    return out


def _env(ls: LS, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CQIA_LS_URL", ls.conn.url)
    monkeypatch.setenv("CQIA_LS_API_KEY", ls.conn.api_key)
    monkeypatch.setenv("CQIA_LS_CONFIG", str(tmp_path / "no-config.json"))


def test_push_is_idempotent_and_updates_in_place(ls: LS, run_dir: Path) -> None:
    records = records_by_source({"zhihu": 6, "ruozhiba": 3})
    make_stage(run_dir, "candidates", records)
    first = _push(ls, run_dir, "idempotent push", batch_size=4)
    assert (first["imported"], first["unchanged"]) == (9, 0)
    again = _push(ls, run_dir, "idempotent push", batch_size=4)
    assert (again["imported"], again["updated"], again["unchanged"]) == (0, 0, 9)
    ids = _task_ids(ls, "idempotent push")
    assert sorted(ids) == sorted(r.id for r in records) and all(len(v) == 1 for v in ids.values())

    records[0].record.output = "改过的回答"
    make_stage(run_dir, "candidates-v2", records)
    changed = _push(ls, run_dir, "idempotent push", stage="candidates-v2")
    assert (changed["imported"], changed["updated"], changed["unchanged"]) == (0, 1, 8)
    after = _task_ids(ls, "idempotent push")
    assert after == ids  # same task ids: updated in place, nothing duplicated
    task = ls.client.request("GET", f"/api/tasks/{ids[records[0].id][0]}")
    assert task["data"]["output"] == "改过的回答"


def test_invalid_prediction_refused_before_sending(ls: LS, run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import annotation.tasks as tasks

    make_stage(run_dir, "candidates", records_by_source({"zhihu": 3}))
    monkeypatch.setattr(tasks, "prediction_for", lambda record, config: {"result": [
        {"from_name": "domain", "to_name": "instruction", "type": "choices", "value": {"choices": ["不存在的领域"]}}]})
    with pytest.raises(PredictionError, match="不存在的领域"):
        _push(ls, run_dir, "never created")
    assert ls.client.find_project("never created") is None


def test_sample_and_overlap(ls: LS, run_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    make_stage(run_dir, "candidates", records_by_source({"zhihu": 20, "douban": 10, "ruozhiba": 10}))
    _env(ls, monkeypatch, tmp_path)
    # `--overlap 2` alone: EVERY task gets two annotators (it was 10% of them, silently)
    out = CliRunner().invoke(app, ["annotate", "push", str(run_dir), "--project", "sampled", "--sample", "8",
                                   "--overlap", "2"])
    assert out.exit_code == 0, out.output
    assert "100% of tasks get 2 annotators (--overlap-share 100)" in " ".join(out.output.split())
    proj = ls.client.find_project("sampled")
    assert (proj["maximum_annotations"], proj["overlap_cohort_percentage"]) == (2, 100)
    tasks = list(ls.client.iter_tasks(proj["id"]))
    assert len(tasks) == 8 and all(t["overlap"] == 2 for t in tasks)
    sources = [t["data"]["src_name"] for t in tasks]
    assert sorted(set(sources)) == ["douban", "ruozhiba", "zhihu"] and sources.count("zhihu") == 4
    # an explicit share is still honoured
    _push(ls, run_dir, "sampled share", sample=8, overlap=2, overlap_share=50)
    assert ls.client.find_project("sampled share")["overlap_cohort_percentage"] == 50


def test_pull_applies_verdicts_edits_rejects_and_policies(
    ls: LS, run_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    records = records_by_source({"zhihu": 4, "ruozhiba": 2})
    make_stage(run_dir, "candidates", records)
    _push(ls, run_dir, "pull project", overlap=2)
    task = {rid: ids[0] for rid, ids in _task_ids(ls, "pull project").items()}
    a1, a2, r1 = (as_user(ls.conn.url, ls.tokens[e]) for e in ("ann1@cqia.test", "ann2@cqia.test", "rev1@cqia.test"))
    edited, rejected, tie, majority, agreed, untouched = (r.id for r in records)
    annotate(a1, task[edited], "accept_with_edits", output="因为瑞利散射：蓝光波长短，散射更强。", quality=5)
    annotate(a1, task[rejected], "reject", reasons=("factually_wrong",), note="答案与来源不符")
    annotate(a1, task[tie], "accept")
    annotate(a2, task[tie], "reject", reasons=("low_quality",))
    annotate(a1, task[majority], "accept")
    annotate(a2, task[majority], "accept")
    annotate(r1, task[majority], "reject", reasons=("pii",))
    annotate(a1, task[agreed], "accept", quality=4)
    annotate(a2, task[agreed], "accept", quality=2)

    _env(ls, monkeypatch, tmp_path)
    runner = CliRunner()
    out = runner.invoke(app, ["annotate", "pull", str(run_dir), "--project", "pull project"])
    assert out.exit_code == 0, out.output
    run = RunDir(run_dir)
    kept = {r.id: r for r in run.iter_records("verified")}
    rejects = {row["id"]: row for row in run.iter_rejects("verified")}

    e = kept[edited]
    assert e.record.human_verified and e.provenance.extra["verified_by"] == "annotation"
    assert e.record.output == "因为瑞利散射：蓝光波长短，散射更强。"
    assert e.provenance.extra["annotation"]["edit_size"] > 0
    assert e.provenance.extra["annotation"]["annotators"] == ["ann1@cqia.test"]
    assert e.stats["human_quality"] == 5
    r = rejects[rejected]
    assert r["reason"] == "rejected_factually_wrong" and "答案与来源不符" in r["detail"]
    assert "ann1@cqia.test" in r["detail"]
    assert not kept[tie].record.human_verified and kept[tie].provenance.extra["review_status"] == "held"
    assert kept[majority].record.human_verified  # 2 accept vs 1 reject
    assert kept[agreed].stats["human_quality"] == 3
    assert not kept[untouched].record.human_verified
    assert kept[untouched].provenance.extra["review_status"] == "pending"
    assert "held=1" in out.output and "conflicts=2" in out.output

    # the review pass: only what the first pass accepted or held, and the reviewer sees the first pass
    out = runner.invoke(app, ["annotate", "push", str(run_dir), "--project", "pull project second pass",
                              "--stage", "verified", "--config", "review", "--only", "accepted,held"])
    assert out.exit_code == 0, out.output
    review = {t["data"]["record_id"]: t["data"] for t in
              ls.client.iter_tasks(ls.client.find_project("pull project second pass")["id"])}
    assert sorted(review) == sorted([edited, tie, majority, agreed])  # not the rejected, not the pending
    assert "有分歧，暂缓 held" in review[tie]["first_pass"]
    assert "ann1@cqia.test" in review[tie]["first_pass"] and "ann2@cqia.test" in review[tie]["first_pass"]
    assert "质量低" in review[tie]["first_pass"]  # ann2's reject reason, in Chinese
    assert "修改前 before:" in review[edited]["first_pass"] and review[edited]["output"].startswith("因为瑞利散射：")
    bad = runner.invoke(app, ["annotate", "push", str(run_dir), "--project", "x", "--only", "acepted"])
    assert bad.exit_code != 0 and "--only takes a comma list" in bad.output

    # hold: any disagreement is held, also the 2-vs-1 majority
    out = runner.invoke(app, ["annotate", "pull", str(run_dir), "--project", "pull project", "--policy", "hold"])
    assert out.exit_code == 0, out.output
    kept = {r.id: r for r in RunDir(run_dir).iter_records("verified")}
    assert kept[majority].provenance.extra["review_status"] == "held" and not kept[majority].record.human_verified

    # reviewer-wins: a second-pass project whose reviewer rejects the tied record
    make_stage(run_dir, "review-input", [x for x in records if x.id == tie])
    _push(ls, run_dir, "pull project review", stage="review-input", config="review")
    review_task = _task_ids(ls, "pull project review")[tie][0]
    annotate(r1, review_task, "reject", reasons=("unsafe",), note="复核：不安全")
    out = runner.invoke(app, ["annotate", "pull", str(run_dir), "--project", "pull project", "--stage", "candidates",
                              "--policy", "reviewer-wins", "--review-project", "pull project review"])
    assert out.exit_code == 0, out.output
    rejects = {row["id"]: row for row in RunDir(run_dir).iter_rejects("verified")}
    assert rejects[tie]["reason"] == "rejected_unsafe" and "rev1@cqia.test" in rejects[tie]["detail"]


def test_status_reports_progress_and_hand_computed_kappa(
    ls: LS, run_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    records = records_by_source({"zhihu": 4, "douban": 2})
    make_stage(run_dir, "candidates", records)
    _push(ls, run_dir, "status project", overlap=2, overlap_share=100)
    task = {rid: ids[0] for rid, ids in _task_ids(ls, "status project").items()}
    a1, a2 = (as_user(ls.conn.url, ls.tokens[e]) for e in ("ann1@cqia.test", "ann2@cqia.test"))
    # 4 overlapping items: (acc,acc), (acc,acc), (acc,rej), (rej,rej)
    # po = 3/4; p(A acc)=3/4, p(B acc)=2/4 → pe = 3/4*2/4 + 1/4*2/4 = 1/2 → kappa = (0.75-0.5)/0.5 = 0.5
    labels = [("accept", "accept"), ("accept", "accept"), ("accept", "reject"), ("reject", "reject")]
    for rec, (la, lb) in zip(records[:4], labels, strict=True):
        annotate(a1, task[rec.id], la, reasons=("low_quality",) if la == "reject" else ())
        annotate(a2, task[rec.id], lb, reasons=("low_quality",) if lb == "reject" else ())
    annotate(a1, task[records[4].id], "accept")

    _env(ls, monkeypatch, tmp_path)
    out = CliRunner().invoke(app, ["annotate", "status", "--project", "status project", "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["agreement"]["cohen_kappa"] == pytest.approx(0.5)
    assert report["agreement"]["statistic"] == "cohen_kappa"
    assert report["by_annotator"]["ann1@cqia.test"]["total"] == 5
    assert report["by_annotator"]["ann2@cqia.test"]["reject"] == 2
    assert report["by_source"]["zhihu"] == {"tasks": 4, "done": 4, "annotations": 8}
    assert report["remaining_annotations"] == 3  # douban: one task needs 1 more, one needs 2
    table = CliRunner().invoke(app, ["annotate", "status", "--project", "status project"])
    assert table.exit_code == 0 and "kappa" in table.output


def test_unattended_pull_marks_nothing_verified(run_dir: Path) -> None:
    make_stage(run_dir, "candidates", records_by_source({"zhihu": 3}))
    out = CliRunner().invoke(app, ["annotate", "pull", str(run_dir), "--unattended"])
    assert out.exit_code == 0, out.output
    kept = list(RunDir(run_dir).iter_records("verified"))
    assert len(kept) == 3
    assert all(not r.record.human_verified and r.provenance.extra["review_status"] == "not_pushed" for r in kept)


def test_users_add_can_log_in(ls: LS, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _env(ls, monkeypatch, tmp_path)
    out = CliRunner().invoke(app, ["annotate", "users", "add", "newbie@cqia.test", "--password", "newbie-pass-987"])
    assert out.exit_code == 0, out.output
    assert login_token(ls.conn.url, "newbie@cqia.test", "newbie-pass-987")
    again = CliRunner().invoke(app, ["annotate", "users", "add", "newbie@cqia.test", "--password", "x-123456789"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_wrong_url_and_wrong_key_are_told_apart(ls: LS) -> None:
    secret = "definitely-wrong-key-123"
    with pytest.raises(AuthError, match="API key") as info:
        Client(Connection(ls.conn.url, secret)).check()
    assert secret not in str(info.value)
    with pytest.raises(WrongURLError, match="CQIA_LS_URL"):
        Client(Connection(f"http://127.0.0.1:{free_port()}", ls.conn.api_key), retries=0).check()
    with pytest.raises(WrongURLError, match="not a Label Studio"):
        Client(Connection(ls.conn.url + "/static", ls.conn.api_key)).check()


def test_server_restart_mid_push_loses_and_duplicates_nothing(ls_private: LS, run_dir: Path) -> None:
    ls = ls_private
    records = records_by_source({"zhihu": 900, "douban": 300})
    make_stage(run_dir, "candidates", records)
    port = int(ls.conn.url.rsplit(":", 1)[1])
    restarted: list = []

    def restart_during_push(batch: int) -> None:
        if batch != 1:
            return
        ls.server.stop()  # the server dies between batches 1 and 2 …

        def later() -> None:  # … and comes back a few seconds later, while push is retrying
            time.sleep(2)
            restarted.append(start_server(ls.server.data_dir, port=port))

        threading.Thread(target=later, daemon=True).start()

    try:
        result = _push(ls, run_dir, "restart project", batch_size=200, after_batch=restart_during_push)
        assert result["recovered_batches"] >= 1
        ids = _task_ids(ls, "restart project")
        assert len(ids) == 1200 and all(len(v) == 1 for v in ids.values())

        # a push killed outright (exception mid-way) and re-run: still exactly one task per record
        more = records + records_by_source({"ruozhiba": 400})[:400]
        make_stage(run_dir, "candidates-2", more)

        def die(batch: int) -> None:
            if batch == 0:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            _push(ls, run_dir, "restart project", stage="candidates-2", batch_size=100, after_batch=die)
        rerun = _push(ls, run_dir, "restart project", stage="candidates-2", batch_size=100)
        assert rerun["imported"] == 300 and rerun["unchanged"] == 1300
        ids = _task_ids(ls, "restart project")
        assert len(ids) == 1600 and all(len(v) == 1 for v in ids.values())
    finally:
        for server in restarted:
            server.stop()


def test_pull_of_unknown_project_is_a_clear_error(ls: LS) -> None:
    with pytest.raises(LSError, match="push first"):
        fetch_verdicts(ls.client, "no such project")


def test_new_data_dir_starts_from_the_migrated_template(tmp_path: Path) -> None:
    """A new data dir gets the cached migrated database (no migrations at start) and no stranger's
    account: the template holds no user; the new server has only its own admin."""
    from annotation.server import DB_NAME, _has_users, find_binary, template_database

    template = template_database(find_binary())
    assert template is not None and template.exists() and not _has_users(template)
    with start_server(tmp_path / "fresh") as server:
        log = server.log_path.read_text(errors="replace")
        assert "Initializing database" not in log  # LS prints this only when it migrates
        users = Client(Connection(server.url, server.creds.token)).users()
        assert list(users.values()) == [server.creds.email]
    assert (tmp_path / "fresh" / DB_NAME).stat().st_size > 0


def test_push_replaces_an_old_labeling_config(ls: LS, run_dir: Path) -> None:
    """Projects created before v13 show `$source` (the raw task JSON): a push installs the current config."""
    old = load_config("verification").replace("$src_name", "$source")
    ls.client.ensure_project("old config project", old)
    make_stage(run_dir, "candidates", records_by_source({"zhihu": 2}))
    _push(ls, run_dir, "old config project")
    assert ls.client.find_project("old config project")["label_config"].strip() == load_config("verification").strip()
