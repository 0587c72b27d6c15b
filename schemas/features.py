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


def json_schema(model: str = "record") -> dict[str, Any]:
    """JSON Schema for 'record' (InstructionRecord) or 'curated' (CuratedRecord)."""
    models: dict[str, type[BaseModel]] = {"record": InstructionRecord, "curated": CuratedRecord}
    if model not in models:
        raise ValueError(f"unknown model {model!r}; choose one of {sorted(models)}")
    return models[model].model_json_schema()
