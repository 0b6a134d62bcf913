"""Parses a raw JSON body once into a wire model, turning every failure into a 400 that leaks no data."""

from __future__ import annotations

from typing import TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from service.errors import InvalidRequest

M = TypeVar("M", bound=BaseModel)


def parse_body(body: bytes, model: type[M]) -> M:
    """``model`` validated from ``body``; error messages name fields, never echo values."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest("request body is not valid JSON") from exc
    if not isinstance(raw, dict):
        raise InvalidRequest("request body must be a JSON object")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise InvalidRequest(f"invalid request: {problems}") from exc
