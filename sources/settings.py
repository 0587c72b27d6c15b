"""Per-source settings in one declarative place: `sources/settings/<name>.yaml`.

License, copyright text, default task_type/domain and thresholds a source exposes are data,
not code, so a data engineer can review or override them without reading a parser.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from schemas import TaskType

SETTINGS_DIR = Path(__file__).parent / "settings"


class SourceSettings(BaseModel):
    """Declarative facts about one source config."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    homepage: str | None = None
    license: str
    copyright: str = "暂无版权及作者信息"
    task_type: TaskType
    domain: list[str]
    answer_from: str = "human"
    options: dict[str, Any] = Field(
        default_factory=dict, description="Source-specific knobs: templates, thresholds, limits."
    )


@cache
def load_settings(name: str) -> SourceSettings:
    """Settings for source `name`; a clear error names the file when it is missing or wrong."""
    path = SETTINGS_DIR / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in SETTINGS_DIR.glob("*.yaml"))
        raise KeyError(f"no settings for source {name!r} ({path} missing); known: {known}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        return SourceSettings.model_validate({"name": name, **data})
    except Exception as exc:  # pydantic.ValidationError: re-raise naming the file
        raise ValueError(f"{path}: invalid source settings: {exc}") from exc


def known_sources() -> list[str]:
    return sorted(p.stem for p in SETTINGS_DIR.glob("*.yaml"))
