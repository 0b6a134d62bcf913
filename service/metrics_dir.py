"""The folder of prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``), made ready in time.

prometheus-client writes one file per process and metric type there as soon as a metric is created, so the
folder must exist before :mod:`service.metrics` creates its collectors. Nothing may assume a deployment made
it: the image sets ``/tmp/prometheus`` and Kubernetes mounts an empty volume over ``/tmp``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


class MetricsDirError(RuntimeError):
    """The configured folder cannot be created or written; the message names it."""


def ensure_metrics_dir() -> Path | None:
    """Create the configured folder when it is missing; None when multiprocess mode is off."""
    value = os.environ.get(ENV)
    if not value:
        return None
    path = Path(value)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MetricsDirError(f"{ENV}={value}: cannot create the folder ({exc.strerror or exc})") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise MetricsDirError(f"{ENV}={value}: the folder is not writable by this user")
    return path


def prepare_metrics_dir(workers: int) -> Path | None:
    """Give the workers a shared, empty folder for their metric files (before any worker starts).

    Several workers need one even when none is configured (a fresh temporary folder then). Files left by an
    earlier run would be added to this run's counters, so they are removed.
    """
    if not os.environ.get(ENV) and workers > 1:
        os.environ[ENV] = tempfile.mkdtemp(prefix="backpain-cds-metrics-")
    path = ensure_metrics_dir()
    if path is not None:
        for stale in path.glob("*.db"):
            stale.unlink()
    return path
