"""Clinical knowledge loaded from ``cards/``: validated by JSON Schema, then typed, then cross-checked."""

from service.knowledge.loader import Knowledge, load_knowledge

__all__ = ["Knowledge", "load_knowledge"]
