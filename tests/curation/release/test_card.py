"""The card's human-verification statements over real COIG-CQIA rows (all upstream-verified).

Issue 13: a held (disputed) upstream row shipped with human_verified=true and the card said
"N rows are human-verified" beside "held: 4". Here every state of the rule occurs once or more and
the card's figures are checked against counts worked out by hand from the verdicts below.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from annotation.verdicts import Verdict
from curation.cli.annotate import write_verified_stage
from curation.pipeline.rundir import RunDir
from curation.release.build import build_release

REPO = Path(__file__).resolve().parents[3]


def _cqia(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "curation.cli", *args], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr


def test_card_counts_verified_here_upstream_pending_held_rejected(samples_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    _cqia("ingest", "import", "--format", "coig-cqia", str(samples_dir / "coig_cqia" / "cqia_ruozhiba_first20.jsonl"),
          "--source", "ruozhiba", "--run", str(run))
    _cqia("run", "validate", str(run))
    records = list(RunDir(run).iter_records("validate"))
    assert len(records) == 20 and all(r.record.human_verified for r in records)  # upstream says verified
    ids = [r.id for r in records]

    def v(i: int, who: str, verdict: str, t: str, **kw) -> Verdict:
        return Verdict(ids[i], who, verdict, created_at=t, **kw)

    verdicts = {
        ids[0]: [v(0, "a", "accept", "1")],                                   # verified here
        ids[1]: [v(1, "a", "accept", "1"), v(1, "b", "accept", "2")],          # verified here
        ids[2]: [v(2, "a", "accept", "1"), v(2, "b", "accept", "2"),
                 v(2, "c", "reject", "3", reasons=("pii",))],                  # here, by majority over a dissent
        ids[3]: [v(3, "a", "accept", "1"), v(3, "b", "reject", "2", reasons=("low_quality",))],  # held (tie)
        ids[4]: [v(4, "a", "reject", "1", reasons=("factually_wrong",))],      # rejected: not released
    }
    pushed = set(ids[:10])  # 5 with verdicts, 5 pushed without one; 10 never pushed
    write_verified_stage(run, "validate", verdicts, pushed=pushed, progress=False)
    release = build_release(run, tmp_path / "release")
    card = (tmp_path / "release" / "README.md").read_text(encoding="utf-8")

    # 19 released; human_verified: 3 accepted here + 15 upstream rows nobody here reviewed (5 pushed
    # without a verdict, 10 never pushed); the held row and the rejected one are not verified
    assert release.total_rows == 19
    assert ("19 rows in 1 configs; 18 rows carry `human_verified: true`: 3 verified here by our annotators and "
            "15 upstream-verified rows nobody here has reviewed. Not verified: 0 pending review, 1 held (disputed), "
            "0 not in review; 1 rows people here rejected are not released.") in card
    assert "| ruozhiba | 3 | 15 | 0 | 1 | 0 | 1 |" in card
    assert "1 of the rows verified here were accepted by the conflict policy" in card
    assert "never `human_verified: true`" in card

    rows = pd.read_parquet(next((tmp_path / "release" / "ruozhiba").glob("*.parquet")))
    flags = dict(zip(rows["metadata"].map(lambda m: json.loads(m)["cqia_id"]), rows["human_verified"], strict=True))
    assert not flags[ids[3]]  # the held row ships unverified
    assert ids[4] not in flags
    assert sum(bool(x) for x in flags.values()) == 18
