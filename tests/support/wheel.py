"""The wheel, built from what the Dockerfile's build stage copies, installed in a fresh venv outside the checkout.

Built once per session (``installed_wheel``) for tests/test_install.py and tests/test_image.py. The build
uses this venv's setuptools without isolation (no index needed, a few seconds); the new venv gets only the
wheel, and reads the third-party packages from this venv's site-packages through a ``.pth`` line written
after the install (so pip never sees the editable install there). ``service`` itself then comes from the
wheel alone: the tests check it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.dockerfile import Stage, parse, read_ignore
from tests.support.dockerfile import ignored as docker_ignored
from tests.support.processes import wait_until_up

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"


@dataclass(frozen=True)
class InstalledWheel:
    wheel: Path
    venv: Path
    build_log: str

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    @property
    def site_packages(self) -> Path:
        return next((self.venv / "lib").glob("python3*/site-packages"))

    @property
    def package(self) -> Path:
        return self.site_packages / "service"

    def env(self, **extra: str) -> dict[str, str]:
        """This machine's environment without the service's settings, the venv's bin first on PATH."""
        base = {
            k: v for k, v in os.environ.items()
            if not k.startswith(("BACKPAIN_CDS_", "PROMETHEUS_", "PYTHON", "VIRTUAL_ENV"))
        }
        base["PATH"] = f"{self.bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
        return {**base, **extra}


def stages() -> list[Stage]:
    return parse(DOCKERFILE.read_text(encoding="utf-8"))


def build_context(destination: Path) -> None:
    """What the build stage's ``COPY`` lines put in its WORKDIR, .dockerignore applied."""
    build = stages()[0]
    patterns = read_ignore(REPO / ".dockerignore")
    for sources, target in build.copies():
        into = destination / target.removeprefix("./").rstrip("/")
        for source in sources:
            path = REPO / source
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            assert files, f"Dockerfile copies {source}, which does not exist"
            for file in files:
                relative = file.relative_to(REPO).as_posix()
                if docker_ignored(patterns, relative):
                    continue
                out = into / file.name if path.is_file() else into / file.relative_to(path)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, out)


def _run(args: list[str | Path], cwd: Path) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{output[-4000:]}"
    return output


def build_and_install(root: Path) -> InstalledWheel:
    context, dist, venv = root / "context", root / "dist", root / "venv"
    build_context(context)
    log = _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, context], root)
    [wheel] = dist.glob("backpain_cds-*.whl")
    _run([sys.executable, "-m", "venv", "--without-pip", venv], root)
    installed = InstalledWheel(wheel, venv, log)
    _run([sys.executable, "-m", "pip", "--python", installed.python, "install", "-q", "--no-deps", "--no-index",
          wheel], root)
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (installed.site_packages / "zz_dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    return installed


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    return build_and_install(tmp_path_factory.mktemp("wheel"))


@dataclass
class Running:
    process: subprocess.Popen[str]
    base_url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def wait_ready(service: Running, timeout: float = 90.0) -> None:
    wait_until_up(service.process, service.base_url, service.log, timeout)


@contextmanager
def running(command: list[str], *, cwd: Path, env: dict[str, str], base_url: str, log: Path) -> Iterator[Running]:
    """Start ``command`` in its own process group, wait for /readyz, always stop the whole group."""
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
    service = Running(process, base_url, log)
    try:
        wait_ready(service)
        yield service
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
