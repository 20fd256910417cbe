"""The container image (Containerfile), built and run with podman.

Runs when ``DIGITUKI_IMAGE`` names a built image (``deploy/ci/build-image.sh`` builds
one: ``DIGITUKI_IMAGE=digituki:ci pytest tests/e2e/test_image.py``); otherwise it skips,
and with ``DIGITUKI_REQUIRE_IMAGE=1`` that skip is a failure. Every check looks at the image as an operator would get it:
its user, its layers, its label, and a role started with a read-only root filesystem.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.stack import free_port
from bot.training import fingerprint

pytestmark = pytest.mark.e2e

IMAGE = os.environ.get("DIGITUKI_IMAGE", "")
SECRET_NAMES = ("TOKEN", "SECRET", "PASSWORD")


@pytest.fixture(scope="module")
def image() -> str:
    if not IMAGE or shutil.which("podman") is None:
        reason = "no image to test: set DIGITUKI_IMAGE (deploy/ci/build-image.sh builds one)"
        if os.environ.get("DIGITUKI_REQUIRE_IMAGE") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return IMAGE


def podman(*args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"podman {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout


def image_config(image: str) -> dict[str, Any]:
    return json.loads(podman("image", "inspect", image))[0]


def test_the_image_runs_as_an_unprivileged_user(image: str) -> None:
    assert image_config(image)["Config"]["User"] == "10001"
    assert podman("run", "--rm", "--entrypoint", "id", image, "-u").strip() == "10001"


def test_the_label_names_the_model_inside_and_it_is_this_trees(image: str) -> None:
    labels = image_config(image)["Config"]["Labels"]
    assert labels["fi.digituki.model.fingerprint"] == fingerprint()
    listed = podman("run", "--rm", "--entrypoint", "ls", image, "/app/models")
    assert f"digituki-{fingerprint()}.tar.gz" in listed.split()


def test_no_secret_is_baked_into_the_image(image: str, tmp_path: Path) -> None:
    """No secret-looking variable is set, and no layer holds a private key, an env file,
    a database or a filled-in credentials file."""
    env = image_config(image)["Config"]["Env"]
    assert not [v for v in env if any(word in v.split("=")[0] for word in SECRET_NAMES)], env
    archive = tmp_path / "image.tar"
    podman("save", "--format", "docker-archive", "-o", str(archive), image, timeout=600)
    found = []
    base = len(image_config(image)["RootFS"]["Layers"]) - len(own_layers(image))
    with tarfile.open(archive) as saved:
        manifest = saved.extractfile("manifest.json")
        assert manifest is not None
        layers = json.load(manifest)[0]["Layers"]
        for name in layers[base:]:  # ours, not the base image's
            layer = saved.extractfile(name)
            assert layer is not None
            with tarfile.open(fileobj=layer) as files:
                for entry in files:
                    name = entry.name
                    if not entry.isfile():
                        continue
                    if name.endswith((".env", "digituki.db", "id_rsa", "id_ed25519")):
                        found.append(name)
                    elif (
                        name.endswith((".pem", ".key"))
                        and "/site-packages/" not in name  # third parties' test fixtures
                        and entry.size < 1_000_000
                    ):
                        content = files.extractfile(entry)
                        if content is not None and b"PRIVATE KEY" in content.read():
                            found.append(name)
                    elif name == "app/credentials.yml":
                        content = files.extractfile(entry)
                        assert content is not None
                        assert not re.search(
                            rb"^\s+\w*(token|secret)\w*:\s*\S", content.read(), re.M
                        )
    assert found == []


def own_layers(image: str) -> list[str]:
    """The layers the Containerfile's last stage added (not those of ``FROM``)."""
    base = os.environ.get("DIGITUKI_BASE_IMAGE", "python:3.10-slim-bookworm")
    base_layers = image_config(base)["RootFS"]["Layers"]
    return list(image_config(image)["RootFS"]["Layers"][len(base_layers) :])


def test_no_compiler_or_cache_is_in_the_final_image(image: str) -> None:
    absent = podman(
        "run", "--rm", "--entrypoint", "sh", image, "-c",
        "for f in /usr/bin/gcc /usr/bin/cc /tmp/.cache /root/.cache /app/.git /app/.venv; "
        "do [ -e $f ] && echo $f; done; true",
    )  # fmt: skip
    assert absent.strip() == ""


def test_help_lists_the_roles_and_an_unknown_role_is_refused(image: str) -> None:
    assert all(role in podman("run", "--rm", image) for role in ("rasa", "actions", "web"))
    done = subprocess.run(
        ["podman", "run", "--rm", image, "nonsense"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "unknown role" in done.stderr


@pytest.fixture
def web_container(image: str) -> Iterator[str]:
    """The web role on SQLite in a volume, with a read-only root filesystem."""
    port = free_port()
    name = f"digituki-web-test-{port}"
    volume = f"{name}-data"
    podman("volume", "create", volume)
    base = ["--rm", "--read-only", "--tmpfs", "/tmp", "-v", f"{volume}:/data"]
    settings = ["-e", "DIGITUKI_DATABASE_URL=sqlite:////data/digituki.db"]
    try:
        podman("run", *base, *settings, image, "migrate", timeout=300)
        podman(
            "run", "-d", "--name", name, *base, *settings,
            "-e", "DIGITUKI_METRICS_TOKEN=image-test-metrics-token",
            "-p", f"127.0.0.1:{port}:8080", image, "web",
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(podman("logs", name))
                time.sleep(1)
        yield url
    finally:
        subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
        subprocess.run(["podman", "volume", "rm", "-f", volume], capture_output=True, check=False)


def test_the_web_role_serves_with_a_read_only_root_filesystem(web_container: str) -> None:
    with urllib.request.urlopen(f"{web_container}/ready", timeout=10) as response:
        assert response.status == 200
    with urllib.request.urlopen(
        f"{web_container}/api/v1/providers/search?municipality=Lieksa&topic=smartphone", timeout=10
    ) as response:
        assert response.status == 200 and "results" in json.load(response)
    request = urllib.request.Request(f"{web_container}/metrics")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
