"""HF `datasets.Features` and JSON Schema derived from the Pydantic models — never hand-written."""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from schemas.record import CuratedRecord, InstructionRecord


def _feature_for(annotation: Any) -> Any:
    from datasets import List, Value

    origin = get_origin(annotation)
    if annotation is str or origin is Literal:
        return Value("string")
    if annotation is bool:
        return Value("bool")
    if annotation is int:
        return Value("int64")
    if annotation is float:
        return Value("float64")
    if origin is list:
        (item,) = get_args(annotation)
        return List(_feature_for(item))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {name: _feature_for(f.annotation) for name, f in annotation.model_fields.items()}
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _feature_for(args[0])
    raise TypeError(f"no datasets feature for annotation {annotation!r}")


def release_features() -> Any:
    """`datasets.Features` of a released row: the nine COIG-CQIA fields in their order."""
    from datasets import Features

    return Features(
        {name: _feature_for(field.annotation) for name, field in InstructionRecord.model_fields.items()}
    )


def _arrow_and_feature(annotation: Any) -> tuple[Any, Any]:
    """(pyarrow type, `datasets` feature dict) for a model annotation — what `_feature_for` gives,
    without importing `datasets` (seconds of start-up a release build does not need)."""
    import pyarrow as pa

    origin = get_origin(annotation)
    for python, dtype, arrow in ((str, "string", pa.string()), (bool, "bool", pa.bool_()),
                                 (int, "int64", pa.int64()), (float, "float64", pa.float64())):
        if annotation is python or (python is str and origin is Literal):
            return arrow, {"dtype": dtype, "_type": "Value"}
    if origin is list:
        (item,) = get_args(annotation)
        arrow, feature = _arrow_and_feature(item)
        return pa.list_(arrow), {"feature": feature, "_type": "List"}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        parts = {name: _arrow_and_feature(f.annotation) for name, f in annotation.model_fields.items()}
        return pa.struct([(name, arrow) for name, (arrow, _) in parts.items()]), {
            name: feature for name, (_, feature) in parts.items()}
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _arrow_and_feature(args[0])
    raise TypeError(f"no Arrow type for annotation {annotation!r}")


def release_arrow_schema() -> Any:
    """`release_features().arrow_schema` (fields and the `huggingface` metadata `datasets` writes
    and reads back), built without importing `datasets`; tests check the two are equal."""
    import json

    import pyarrow as pa

    parts = {name: _arrow_and_feature(f.annotation) for name, f in InstructionRecord.model_fields.items()}
    features = {name: feature for name, (_, feature) in parts.items()}
    return pa.schema([(name, arrow) for name, (arrow, _) in parts.items()],
                     metadata={"huggingface": json.dumps({"info": {"features": features}})})


def json_schema(model: str = "record") -> dict[str, Any]:
    """JSON Schema for 'record' (InstructionRecord) or 'curated' (CuratedRecord)."""
    models: dict[str, type[BaseModel]] = {"record": InstructionRecord, "curated": CuratedRecord}
    if model not in models:
        raise ValueError(f"unknown model {model!r}; choose one of {sorted(models)}")
    return models[model].model_json_schema()
