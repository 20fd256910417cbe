"""The trained model: named by a fingerprint of everything it is trained from.

``ensure_model`` trains only when no model of the current inputs exists, so
``make run`` and ``make test`` train once after a change and never otherwise.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from bot.config import PROJECT_ROOT

TRAINING_INPUTS = ("config.yml", "domain", "data/nlu", "data/rules", "data/stories", "bot/nlu")
"""Files and folders whose content decides the model (our NLU components included)."""
DATA_PATHS = ("data/nlu", "data/rules", "data/stories")
KEEP_MODELS = 2


def fingerprint(root: Path = PROJECT_ROOT) -> str:
    """A short hash of the training inputs' paths and contents."""
    digest = hashlib.sha256()
    for name in TRAINING_INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.suffix in (".pyc",) or not file.exists():
                continue
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def model_path(root: Path = PROJECT_ROOT) -> Path:
    """Where the model of the current inputs is (or will be)."""
    return root / "models" / f"digituki-{fingerprint(root)}.tar.gz"


def ensure_model(root: Path = PROJECT_ROOT, *, force: bool = False) -> Path:
    """The current model, trained first if it is missing (or when ``force``)."""
    target = model_path(root)
    if target.exists() and not force:
        return target
    target.parent.mkdir(exist_ok=True)
    print(f"training {target.name} (the data or configuration changed) ...", flush=True)
    command = [
        str(Path(sys.executable).parent / "rasa"),
        "train",
        "--config", "config.yml",
        "--domain", "domain",
        "--data", *DATA_PATHS,
        "--out", "models",
        "--fixed-model-name", target.name.removesuffix(".tar.gz"),
    ]  # fmt: skip
    subprocess.run(command, cwd=root, check=True)
    old = sorted((root / "models").glob("digituki-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    for stale in old[:-KEEP_MODELS]:
        if stale != target:
            stale.unlink()
    return target
