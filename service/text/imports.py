"""Importing spaCy and medspaCy without the parts of them the text step never uses.

Why: importing ``medspacy.context`` runs medspaCy's package ``__init__``, which loads every component
(PyRuSH, the sectionizer, loguru, ...); ``medspacy.util`` loads QuickUMLS, which loads all of NLTK; spaCy's
``__init__`` loads ``requests`` through its CLI. The pipeline uses none of them (NLTK ~16 MiB, requests ~5 MiB,
the other medspaCy parts ~2.6 MiB of every worker).

How: while spaCy and the two medspaCy subpackages import, ``medspacy``, ``nltk`` and ``requests`` are each a
module object created from their spec but not run; they are only bound by ``import x`` statements, and
``import medspacy.context`` only needs the package's ``__path__``. Afterwards each of them becomes a lazy
module (stdlib ``importlib.util.LazyLoader``): the first time anything reads from it, the real package runs,
so ``medspacy.load``, QuickUMLS and ``spacy download`` still work in the same process. If anything in the
window needs more than the binding (an ImportError or AttributeError), the deferral is undone and everything
is imported normally (each placeholder's package runs in place).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import threading
import warnings
from types import ModuleType

log = logging.getLogger(__name__)

DEFERRED = ("medspacy", "nltk", "requests")
NEEDED = ("spacy", "spacy.language", "spacy.tokens", "medspacy.target_matcher", "medspacy.context")

_lock = threading.Lock()
_done = False


def _placeholder(name: str) -> ModuleType | None:
    """A module object for ``name`` created from its spec, not run; None when it cannot be deferred."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    return module


def _make_lazy(module: ModuleType) -> None:
    """Run ``module``'s real code the first time anything reads an attribute from it."""
    spec = module.__spec__
    assert spec is not None and spec.loader is not None
    importlib.util.LazyLoader(spec.loader).exec_module(module)


def _import_needed() -> None:
    # spaCy's CLI module imports a click helper deprecated in click 8.2; that warning is spaCy's, not ours.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for name in NEEDED:
            importlib.import_module(name)
        importlib.import_module("medspacy._extensions").set_extensions()  # what medspaCy's __init__ sets up


def import_text_stack() -> None:
    """Import what ``service.text.build`` needs from spaCy and medspaCy, deferring what it does not."""
    global _done
    with _lock:
        if _done:
            return
        placeholders: dict[str, ModuleType] = {}
        try:
            for name in DEFERRED:
                if name not in sys.modules:
                    module = _placeholder(name)
                    if module is not None:
                        placeholders[name] = module
            _import_needed()
        except (ImportError, AttributeError) as exc:  # something read a deferred package: import it normally
            log.warning("deferred imports undone, importing normally: %s", exc)
            # Run each placeholder's own code in place, so that modules that bound it during the window keep a
            # working module (the one in sys.modules). Lazy first: one deferred package may need another.
            for module in placeholders.values():
                _make_lazy(module)
            for module in placeholders.values():
                getattr(module, "__doc__", None)  # any attribute read runs the package
            placeholders = {}
            _import_needed()
        for module in placeholders.values():
            _make_lazy(module)
        _done = True
