"""Start anywhere: the production image's own command and environment, read from the Dockerfile, reach /readyz.

No Docker engine runs here, so the final stage is reproduced on the installed wheel (tests/support/wheel.py):
its ENV, WORKDIR, VOLUME and CMD as parsed, the container paths (``/tmp``, the WORKDIR, each VOLUME) mapped to
fresh empty folders, plus what docs/deploy.md's Kubernetes manifest adds (its env, the migrate init container,
an emptyDir over /tmp) and the Secret it names (a trusted issuer). Only the listening address is changed: a free
loopback port instead of 0.0.0.0:8080. USER is checked, not switched to: the interpreter here lives in a
folder that user could not read.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import httpx
import yaml
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.dockerfile import Stage, exec_form, healthcheck_command
from tests.support.processes import free_port
from tests.support.tokens import ISS, public_jwk
from tests.support.wheel import REPO, InstalledWheel, running, stages

DEPLOY = REPO / "docs" / "deploy.md"
HOOK = "/cds-services/back-pain-red-flags"


def manifest() -> list[dict[str, Any]]:
    text = DEPLOY.read_text(encoding="utf-8")
    [block] = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    return [doc for doc in yaml.safe_load_all(block) if doc]


def pod_spec() -> dict[str, Any]:
    deployment = next(d for d in manifest() if d["kind"] == "Deployment")
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


class Container:
    """Container paths of the final stage, each backed by a fresh empty folder."""

    def __init__(self, final: Stage, root: Path) -> None:
        workdir = final.last("WORKDIR")
        assert workdir
        volumes = json.loads(final.last("VOLUME") or "[]")
        self.mounts = {"/tmp": root / "tmp", workdir: root / "workdir"}
        self.mounts.update({volume: root / ("volume" + volume.replace("/", "-")) for volume in volumes})
        for folder in self.mounts.values():
            folder.mkdir()
        self.workdir = self.mounts[workdir]

    def path(self, value: str) -> str:
        """``value`` with every container path (also inside a ``sqlite:////`` URL) moved to its folder."""
        for inside, outside in self.mounts.items():
            value = re.sub(rf"(^|:///){re.escape(inside)}(?=/|$)", lambda m, o=outside: m.group(1) + str(o), value)
        return value


def image_env(final: Stage, container: Container, wheel: InstalledWheel) -> dict[str, str]:
    env = {key: container.path(value) for key, value in final.env().items()}
    [service] = [c for c in pod_spec()["containers"] if c["name"] == "service"]
    env.update({item["name"]: container.path(str(item["value"])) for item in service["env"]})
    # The Secret the manifest reads (envFrom): a trusted issuer; the database stays the image's SQLite default.
    # A key of its own: ec_key's small cache is shared, and a new name there would evict another test's key.
    key = public_jwk(ec.generate_private_key(ec.SECP384R1()), "k1", "ES384")
    env["BACKPAIN_CDS_TRUSTED_ISSUERS"] = json.dumps([{"iss": ISS, "jwks": {"keys": [key]}}])
    return wheel.env(**env, HOME=str(container.workdir), TMPDIR=str(container.mounts["/tmp"]))


def test_dockerfile_and_manifest_agree_on_user_port_and_writable_tmp() -> None:
    final = stages()[-1]
    user = final.last("USER")
    assert user and user.isdigit() and int(user) != 0  # numeric, so Kubernetes runAsNonRoot can check it
    spec = pod_spec()
    assert spec["securityContext"]["runAsUser"] == int(user)
    assert final.last("EXPOSE") == "8080"
    [service] = [c for c in spec["containers"] if c["name"] == "service"]
    assert service["ports"][0]["containerPort"] == 8080
    # A read-only root file system with an empty volume over /tmp, where PROMETHEUS_MULTIPROC_DIR points.
    assert service["securityContext"]["readOnlyRootFilesystem"] is True
    tmp = {m["name"] for m in service["volumeMounts"] if m["mountPath"] == "/tmp"}
    assert any(v["name"] in tmp and "emptyDir" in v for v in spec["volumes"])
    assert final.env()["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")
    # Nothing the image needs at run time is copied from the build context into the final stage.
    assert final.copies() == []


def test_image_command_and_environment_reach_readyz_with_an_empty_tmp(
    installed_wheel: InstalledWheel, tmp_path: Path
) -> None:
    final = stages()[-1]
    container = Container(final, tmp_path)
    port = free_port()
    env = image_env(final, container, installed_wheel)
    metrics_dir = Path(env["PROMETHEUS_MULTIPROC_DIR"])
    assert not metrics_dir.exists()  # the empty /tmp of a fresh emptyDir

    # The manifest's init container first: `backpain-cds migrate` with the same environment.
    [init] = pod_spec()["initContainers"]
    migrated = subprocess.run(init["command"], cwd=container.workdir, env=env, capture_output=True, text=True,
                              timeout=120)
    assert migrated.returncode == 0, migrated.stderr

    entrypoint = exec_form(final.last("ENTRYPOINT")) if final.last("ENTRYPOINT") else []
    command = [*entrypoint, *exec_form(final.last("CMD") or "")]
    # The only change: listen on a free loopback port, not 0.0.0.0:8080.
    script = command[-1]
    assert "--host 0.0.0.0" in script and "--port 8080" in script
    command[-1] = script.replace("--host 0.0.0.0", "--host 127.0.0.1").replace("--port 8080", f"--port {port}")
    base = f"http://127.0.0.1:{port}"
    with running(command, cwd=container.workdir, env=env, base_url=base, log=tmp_path / "image.log") as service:
        probe = healthcheck_command(final.last("HEALTHCHECK") or "")
        probe = [part.replace("127.0.0.1:8080", f"127.0.0.1:{port}") for part in probe]
        health = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=30)
        for _ in range(10):  # new connections, spread over the workers
            assert httpx.get(base + "/healthz").status_code == 200
        anonymous = httpx.post(base + HOOK, json={})
        scrape = httpx.get(base + "/metrics").text
        printed = service.output()
    assert health.returncode == 0, health.stderr
    assert anonymous.status_code == 401  # the image's production profile is in force
    assert metrics_dir.is_dir() and any(metrics_dir.glob("*.db"))
    healthz = re.search(r'backpain_cds_requests_total\{endpoint="/healthz",status="200"\} (\S+)', scrape)
    assert healthz and float(healthz.group(1)) >= 10.0  # summed over the workers' files
    workers = shlex.split(command[-1])[-1]
    expected = f"{int(env[workers.strip('${}')])} workers" if workers.startswith("$") else f"{workers} workers"
    assert f"listening on {base}" in printed and expected in printed
    assert "Traceback" not in printed
