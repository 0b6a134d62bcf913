"""Loads ``cards/``: each file is checked against its JSON Schema before anything uses it.

A broken knowledge file must stop start-up with a message naming the file and the problem, never
surface later as a 500 in the middle of a clinician's workflow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from service.errors import KnowledgeError
from service.knowledge.service_spec import ServiceSpec


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KnowledgeError(f"knowledge file missing: {path}") from exc
    except json.JSONDecodeError as exc:
        raise KnowledgeError(f"knowledge file {path} is not valid JSON: {exc}") from exc


def validated(path: Path, schema_path: Path) -> Any:
    """The JSON content of ``path``, after validation against ``schema_path``."""
    data = read_json(path)
    schema = read_json(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        raise KnowledgeError(f"knowledge file {path} fails {schema_path.name} at {where}: {first.message}")
    return data


@dataclass(frozen=True)
class Knowledge:
    """Everything the service knows, loaded once at start-up."""

    root: Path
    service: ServiceSpec


def load_knowledge(root: Path) -> Knowledge:
    """Load and validate the whole ``cards/`` directory (raises :class:`KnowledgeError`)."""
    schemas = root / "schemas"
    service = ServiceSpec.model_validate(validated(root / "service.json", schemas / "service.schema.json"))
    return Knowledge(root=root, service=service)
