"""The Kubernetes dev overlay played by ``podman kube play`` (``deploy/ci/kube-smoke.sh``).

podman plays Deployments, Pods, ConfigMaps and Secrets with their security contexts;
the script adapts what podman 4.3 cannot play (its header says what) and waits until
every role answers ``/ready`` as uid 10001 on a read-only root filesystem. Runs when
``DIGITUKI_IMAGE`` names a built image, as ``tests/e2e/test_image.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_the_dev_overlay_comes_up_ready_under_podman_kube_play(
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = os.environ.get("DIGITUKI_IMAGE", "")
    if not image or shutil.which("podman") is None:
        reason = "no image to play: set DIGITUKI_IMAGE (deploy/ci/build-image.sh builds one)"
        if os.environ.get("DIGITUKI_REQUIRE_IMAGE") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "deploy/ci/kube-smoke.sh"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, "DIGITUKI_IMAGE": image},
    )
    with capsys.disabled():
        print(f"\n  podman kube play of the dev overlay ({time.monotonic() - started:.0f} s):")
        for line in done.stdout.splitlines():
            print(f"    {line}")
    assert done.returncode == 0, done.stderr[-3000:]
    for role in ("rasa", "actions", "events", "web"):
        assert f"kube-smoke: {role} ready after" in done.stdout
