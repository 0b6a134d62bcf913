"""spaCy and medspaCy are imported without what the text step never uses, and it all still works (issue 17).

service/text/imports.py defers medspaCy's package ``__init__`` (all its components), NLTK (through QuickUMLS)
and requests (through spaCy's CLI) until something reads them. Each check runs in a fresh interpreter: the
test process may already hold those packages.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BUILD = """
import sys
from pathlib import Path
from service.knowledge import load_knowledge
ct = load_knowledge(Path(sys.argv[1]) / "cards").text
found = ct.read("Pain wakes her at night. No saddle anaesthesia.")
assert [(m.sign, m.counted) for m in found] == [("night-pain", True), ("neuro-emergency", False)], found
"""


def _run(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), str(ROOT)], capture_output=True, text=True, env=env,
        timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_pipeline_builds_without_running_the_deferred_packages() -> None:
    out = _run(BUILD + """
mods = sorted(sys.modules)
for name in ("nltk", "requests", "medspacy"):
    print(name, type(sys.modules[name]).__name__, sum(m.startswith(name + ".") for m in mods))
print("loguru", "loguru" in sys.modules, "PyRuSH", "PyRuSH" in sys.modules)
""")
    assert out.split("\n")[:4] == [
        "nltk _LazyModule 0",
        "requests _LazyModule 0",
        out.split("\n")[2],  # medspaCy's target matcher and ConText subpackages are loaded
        "loguru False PyRuSH False",
    ]
    assert out.split("\n")[2].startswith("medspacy _LazyModule ")


def test_the_deferred_packages_still_work_in_the_same_process() -> None:
    out = _run(BUILD + """
import medspacy, nltk, requests, spacy
from quickumls import QuickUMLS
nlp = medspacy.load()  # medspaCy's own default pipeline: PyRuSH, target matcher, ConText
assert "medspacy_pyrush" in nlp.pipe_names, nlp.pipe_names
doc = nlp("No evidence of pneumonia.")
assert len(list(doc.sents)) == 1
assert callable(nltk.word_tokenize) and nltk.corpus is not None
assert callable(requests.get) and requests.Session is not None
assert callable(spacy.cli.download) and QuickUMLS is not None
print(type(sys.modules["nltk"]).__name__, type(sys.modules["medspacy"]).__name__)
""")
    assert out.strip() == "module module"  # each became the real package on first use


def test_a_deferral_that_fails_falls_back_to_a_normal_import() -> None:
    """numpy is read while spaCy imports: deferring it must not break anything, only undo the deferral."""
    out = _run("""
import service.text.imports as imports
imports.DEFERRED = (*imports.DEFERRED, "numpy")
""" + BUILD + """
import numpy
print(type(sys.modules["numpy"]).__name__, numpy.ndarray.__name__)
""")
    assert out.strip() == "module ndarray"
