"""Features and JSON Schema are derived from the models and agree with them."""

from __future__ import annotations

import json
import subprocess
import sys

from schemas import COIG_CQIA_FIELDS, InstructionRecord
from schemas.features import json_schema, release_features


def test_features_follow_model_fields_in_order() -> None:
    features = release_features()
    assert tuple(features) == COIG_CQIA_FIELDS == tuple(InstructionRecord.model_fields)
    assert features["human_verified"].dtype == "bool"
    assert set(features["task_type"]) == {"major", "minor"}


def test_json_schema_requires_what_the_model_requires() -> None:
    schema = json_schema("record")
    required = set(schema["required"])
    assert {"instruction", "output", "task_type", "domain", "answer_from", "human_verified"} <= required
    assert schema["properties"]["answer_from"]["enum"] == ["human", "llm"]
    assert schema["additionalProperties"] is False


def test_cli_schema_export_writes_both_kinds(tmp_path) -> None:
    out = tmp_path / "schema.json"
    subprocess.run([sys.executable, "-m", "curation.cli", "schema", "export", "--out", str(out)], check=True)
    assert json.loads(out.read_text())["title"] == "InstructionRecord"
    features = subprocess.run(
        [sys.executable, "-m", "curation.cli", "schema", "export", "--kind", "features"],
        check=True, capture_output=True, text=True,
    ).stdout
    assert json.loads(features)["domain"]["feature"]["dtype"] == "string"


def test_release_arrow_schema_is_what_datasets_derives_metadata_included() -> None:
    from schemas.features import release_arrow_schema, release_features

    ours, theirs = release_arrow_schema(), release_features().arrow_schema
    assert ours.equals(theirs, check_metadata=True)
    assert ours.metadata == theirs.metadata  # the `huggingface` features JSON, byte for byte
