"""Renders a kustomization with the real kustomize: for the manifest tests and CI scripts.

Usage::

    python -m tests.kustomize deploy/kubernetes/overlays/dev    # the YAML stream on stdout

It runs a standalone ``kustomize build`` when one is on ``PATH``, else ``kubectl
kustomize`` (kubectl has carried kustomize since 1.14; the kubectl of this kind of
machine, from its Debian packages, is 1.32 with kustomize v5.5). The manifests use
generators with ``behavior: merge``/``replace``, strategic-merge deletions and JSON 6902
patches with regular-expression targets: what they render to (the generated names'
hashes and every reference rewritten to them, the order patches apply in) is defined by
kustomize itself, so the tests run it rather than an imitation of it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

__all__ = ["KustomizeError", "kustomize_command", "render", "render_text"]

TIMEOUT_S = 60


class KustomizeError(RuntimeError):
    """kustomize is missing, or refused the kustomization (its message included)."""


def kustomize_command() -> list[str] | None:
    """The command that renders a kustomization folder given after it; None without one."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def render_text(folder: Path | str) -> str:
    """The YAML stream of the kustomization in ``folder``."""
    command = kustomize_command()
    if command is None:
        raise KustomizeError("neither kustomize nor kubectl is on PATH")
    done = subprocess.run(
        [*command, str(folder)], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        raise KustomizeError(f"{' '.join(command)} {folder}: {done.stderr.strip()}")
    return done.stdout


def render(folder: Path | str) -> list[dict[str, Any]]:
    """The objects of the kustomization in ``folder``, in kustomize's order."""
    return [doc for doc in yaml.safe_load_all(render_text(folder)) if doc]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tests.kustomize KUSTOMIZATION_FOLDER", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(render_text(args[0]))
    except KustomizeError as error:
        print(f"kustomize: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
