"""Labeling configurations (XML files next to this module) and what the code relies on in them.

The XML is the contract with annotators; the control names below are the contract with
`verdicts.py`. Tests parse every config with the SDK's LabelInterface so a broken edit of the
XML fails in CI, not in front of an annotator.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from label_studio_sdk.label_interface import LabelInterface

CONFIG_DIR = Path(__file__).with_name("configs")
CONFIGS = ("verification", "review", "llm_answer")

VERDICTS = ("accept", "accept_with_edits", "reject")
REJECT_REASONS = ("factually_wrong", "unsafe", "low_quality", "duplicate", "truncated", "formatting", "pii")
# What the annotator reads for each stored code: the configs show these (Choice value) and store
# the code (Choice alias), so exports, verdicts.py and old annotations keep the same values.
VERDICT_LABELS = {"accept": "接受", "accept_with_edits": "修改后接受", "reject": "拒绝"}
REJECT_REASON_LABELS = {"factually_wrong": "事实错误", "unsafe": "不安全", "low_quality": "质量低",
                        "duplicate": "重复", "truncated": "截断", "formatting": "格式问题", "pii": "含个人信息"}
# Data fields a config may reference; tasks.py fills them (`first_pass` only for the review config).
# Never `$source`, `$id`, `$data`, `$meta`, `$predictions`...: the labeling UI resolves such names
# against the whole task object, so `$source` printed the task's raw JSON above every record.
DATA_FIELDS = ("record_id", "src_name", "instruction", "input", "output", "answer_note", "source_link", "evidence",
               "first_pass")
RESERVED_NAMES = frozenset({"source", "id", "data", "meta", "predictions", "annotations", "drafts", "project",
                            "created_at", "updated_at", "inner_id", "total_annotations"})
_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


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


def choice_display(name: str, control: str) -> dict[str, str]:
    """Stored value (alias, else value) → what the annotator sees (value), read from the XML."""
    root = ET.fromstring(load_config(name))
    for tag in root.iter("Choices"):
        if tag.get("name") == control:
            return {c.get("alias") or c.get("value", ""): c.get("value", "") for c in tag.iter("Choice")}
    return {}


def has_control(name: str, control: str) -> bool:
    return any(c.name == control for c in interface(name).controls)


def check_config(name: str) -> list[str]:
    """Problems with a config: missing required controls or data fields it cannot be fed."""
    interface(name)  # parses the XML: a broken edit fails here
    problems = []
    for control in ("verdict", "reject_reason", "reject_note", "instruction_edit", "output_edit"):
        if not has_control(name, control):
            problems.append(f"{name}: missing control {control!r}")
    if choice_values(name, "verdict") != VERDICTS:
        problems.append(f"{name}: verdict choices must be {VERDICTS}")
    if choice_values(name, "reject_reason") != REJECT_REASONS:
        problems.append(f"{name}: reject_reason choices must be {REJECT_REASONS}")
    for control, labels in (("verdict", VERDICT_LABELS), ("reject_reason", REJECT_REASON_LABELS)):
        for code, shown in choice_display(name, control).items():
            if code in labels and labels[code] not in shown:
                problems.append(f"{name}: {control} {code!r} shows {shown!r}, not its label {labels[code]!r}")
    return problems + variable_problems(name, load_config(name))


def variable_problems(name: str, xml: str) -> list[str]:
    """Every $variable anywhere (objects, headers, styles) must be a field tasks carry, and never
    a name the UI resolves against the task object itself (it then prints the raw task JSON)."""
    problems = []
    without_comments = re.sub(r"<!--.*?-->", "", xml, flags=re.S)
    for variable in sorted(set(_VARIABLE.findall(without_comments))):
        if variable in RESERVED_NAMES:
            problems.append(f"{name}: ${variable} names a task attribute: the UI would show the raw task")
        elif variable not in DATA_FIELDS:
            problems.append(f"{name}: reads ${variable}, which tasks never carry")
    return problems
