"""Labeling configurations (XML files next to this module) and what the code relies on in them.

The XML is the contract with annotators; the control names below are the contract with
`verdicts.py`. Tests parse every config with the SDK's LabelInterface so a broken edit of the
XML fails in CI, not in front of an annotator.
"""

from __future__ import annotations

import functools
from pathlib import Path

from label_studio_sdk.label_interface import LabelInterface

CONFIG_DIR = Path(__file__).with_name("configs")
CONFIGS = ("verification", "review", "llm_answer")

VERDICTS = ("accept", "accept_with_edits", "reject")
REJECT_REASONS = ("factually_wrong", "unsafe", "low_quality", "duplicate", "truncated", "formatting", "pii")
# Data fields every config may reference; tasks.py fills all of them.
DATA_FIELDS = ("record_id", "source", "instruction", "input", "output", "answer_note", "source_link", "evidence")


class ConfigError(ValueError):
    pass


def config_path(name: str) -> Path:
    if name not in CONFIGS:
        raise ConfigError(f"unknown labeling config {name!r}; choose one of {', '.join(CONFIGS)}")
    return CONFIG_DIR / f"{name}.xml"


@functools.cache
def load_config(name: str) -> str:
    return config_path(name).read_text(encoding="utf-8")


@functools.cache
def interface(name: str) -> LabelInterface:
    return LabelInterface(load_config(name))


def choice_values(name: str, control: str) -> tuple[str, ...]:
    """The values a Choices control offers (empty when the config lacks the control)."""
    li = interface(name)
    try:
        tag = li.get_control(control)
    except Exception:  # the SDK raises different types for a missing tag
        return ()
    return tuple(getattr(tag, "labels", None) or ())


def has_control(name: str, control: str) -> bool:
    return any(c.name == control for c in interface(name).controls)


def check_config(name: str) -> list[str]:
    """Problems with a config: missing required controls or data fields it cannot be fed."""
    li = interface(name)
    problems = []
    for control in ("verdict", "reject_reason", "reject_note", "instruction_edit", "output_edit"):
        if not has_control(name, control):
            problems.append(f"{name}: missing control {control!r}")
    if choice_values(name, "verdict") != VERDICTS:
        problems.append(f"{name}: verdict choices must be {VERDICTS}")
    if choice_values(name, "reject_reason") != REJECT_REASONS:
        problems.append(f"{name}: reject_reason choices must be {REJECT_REASONS}")
    for obj in li.objects:
        value = str(obj.value or "")
        if value.startswith("$") and value[1:] not in DATA_FIELDS:
            problems.append(f"{name}: object {obj.name} reads ${value[1:]}, which tasks never carry")
    return problems
