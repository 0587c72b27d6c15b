"""Every command that runs stages takes --executor and --ray-address (issue 16)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from curation.cli import app

STAGE_COMMANDS = [
    ["ingest", "import"], ["ingest", "wiki"], ["ingest", "baike"], ["ingest", "exam"], ["ingest", "logiqa"],
    ["ingest", "classical"], ["ingest", "ruozhiba"], ["ingest", "coig_pc"], ["ingest", "human_value"],
    ["ingest", "finance"], ["ingest", "zhihu"], ["ingest", "segmentfault"], ["ingest", "douban"], ["ingest", "xhs"],
    ["ingest", "wikihow"], ["ingest", "zhidao"], ["run", "validate"], ["curate"], ["dedup"], ["decontam"],
    ["release", "build"],
]


@pytest.mark.parametrize("command", STAGE_COMMANDS, ids=" ".join)
def test_stage_command_takes_executor_options(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "--executor" in result.output and "--ray-address" in result.output


def test_unknown_executor_is_a_clear_error(tmp_path) -> None:
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "validate", str(run), "--executor", "spark"])
    assert result.exit_code != 0
    assert "unknown executor 'spark'" in result.output
