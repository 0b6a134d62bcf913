"""A small Dockerfile reader: stages, instructions, ENV, exec-form commands and .dockerignore.

No Docker engine runs here, so the image tests read the Dockerfile instead of copying its values by hand:
a changed ENV, COPY or CMD changes what they run.
"""

from __future__ import annotations

import fnmatch
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    args: str  # the rest of the (joined) line


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> str | None:
        found = self.all(keyword)
        return found[-1] if found else None

    def env(self) -> dict[str, str]:
        """Every ENV of the stage in order (``K=V K2="V 2"`` and the legacy ``K V`` form)."""
        out: dict[str, str] = {}
        for args in self.all("ENV"):
            words = shlex.split(args)
            if words and "=" not in words[0]:
                out[words[0]] = " ".join(words[1:])
                continue
            for word in words:
                key, _, value = word.partition("=")
                out[key] = value
        return out

    def copies(self) -> list[tuple[list[str], str]]:
        """``COPY`` from the build context (not ``--from``): (sources, destination)."""
        out = []
        for args in self.all("COPY"):
            words = shlex.split(args)
            if any(w.startswith("--from") for w in words):
                continue
            paths = [w for w in words if not w.startswith("--")]
            out.append((paths[:-1], paths[-1]))
        return out


def parse(text: str) -> list[Stage]:
    """The stages of a Dockerfile; comments dropped, continuation lines joined."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    stages: list[Stage] = []
    for line in lines:
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        else:
            stages[-1].instructions.append(Instruction(keyword, args))
    return stages


def exec_form(args: str) -> list[str]:
    """A JSON-array (exec form) CMD/ENTRYPOINT; the shell form becomes ``sh -c``, as Docker runs it."""
    if args.startswith("["):
        value = json.loads(args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value)
        return value
    return ["/bin/sh", "-c", args]


def healthcheck_command(args: str) -> list[str]:
    """The ``CMD`` part of a ``HEALTHCHECK`` instruction."""
    _, _, command = args.partition("CMD ")
    return exec_form(command.strip())


def ignored(patterns: list[str], relative: str) -> bool:
    """Whether .dockerignore drops ``relative`` (enough of its syntax: globs, ``**/``, folder prefixes)."""
    parts = relative.split("/")
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        for i in range(len(parts)):
            candidate = "/".join(parts[: i + 1])
            if fnmatch.fnmatch(candidate, pattern) or (pattern != bare and fnmatch.fnmatch(parts[i], bare)):
                return True
    return False


def read_ignore(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
            and not line.startswith("#")]
