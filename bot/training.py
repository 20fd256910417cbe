"""The trained model: named by a fingerprint of everything it is trained from.

``ensure_model`` trains only when no model of the current inputs exists, so
``make run`` and ``make test`` train once after a change and never otherwise.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
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
            if file.suffix in (".pyc", ".md") or not file.exists():
                continue  # compiled code and documentation do not decide the model
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def model_path(root: Path = PROJECT_ROOT) -> Path:
    """Where the model of the current inputs is (or will be)."""
    return root / "models" / f"digituki-{fingerprint(root)}.tar.gz"


def ensure_model(root: Path = PROJECT_ROOT, *, force: bool = False) -> Path:
    """The current model, trained first if it is missing (or when ``force``).

    Processes that need a model at the same time (``make run`` and a test run) train it
    once: the others wait on a lock and then find it.
    """
    (root / "models").mkdir(exist_ok=True)
    with (root / "models" / ".training.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _train_unless_present(root, force)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _train_unless_present(root: Path, force: bool) -> Path:
    target = model_path(root)
    if target.exists() and not force:
        return target
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


FORM_ASK = re.compile(r"^utter_ask_(?:(?P<form>\w+?)_)?(?P<slot>[a-z_]+)$")
RESPONSE_REFERENCE = re.compile(r"[\"'](utter_[a-z0-9_]+)[\"']")
NOT_IN_DIALOGUE = "is not used in any story or rule"


NOT_RESPONSES = frozenset({"utter_action"})
"""Names that look like responses but are not: Rasa's metadata key naming a message's response."""


def responses_sent_by_actions(root: Path = PROJECT_ROOT) -> set[str]:
    """Responses our custom actions send (``response="utter_..."``): stories cannot show them."""
    found: set[str] = set()
    # The handoff writes to conversations through Rasa's API (bot/handoff) as well.
    for path in [*(root / "actions").glob("*.py"), *(root / "bot" / "handoff").glob("*.py")]:
        found |= set(RESPONSE_REFERENCE.findall(path.read_text(encoding="utf-8")))
    return found - NOT_RESPONSES


def validate_data(root: Path = PROJECT_ROOT) -> list[str]:
    """``rasa data validate``'s warnings and errors about our data, as messages.

    Rasa warns about every response that no story or rule names. Responses that
    forms ask with and responses that our actions send are used, so those
    warnings are left out; every other warning is returned.
    """
    import warnings

    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.utils.common import EXPECTED_WARNINGS
    from rasa.validator import Validator

    importer = TrainingDataImporter.load_from_config(
        str(root / "config.yml"), str(root / "domain"), [str(root / p) for p in DATA_PATHS]
    )
    sent = responses_sent_by_actions(root)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        validator = Validator.from_importer(importer)
        ok = all(
            [
                validator.verify_domain_validity(),
                validator.verify_intents_in_stories(False),
                validator.verify_utterances_in_stories(False),
                validator.verify_forms_in_stories_rules(),
                validator.verify_actions_in_stories_rules(),
                validator.verify_story_structure(False, max_history=5),
                validator.verify_example_repetition_in_intents(False),
            ]
        )
    problems = []
    for warning in caught:
        text = str(warning.message)
        if NOT_IN_DIALOGUE in text:
            name = text.split("'")[1]
            if name in sent or FORM_ASK.match(name):
                continue
        if issubclass(warning.category, DeprecationWarning) or any(
            issubclass(warning.category, category) and re.match(pattern, text)
            for category, pattern in EXPECTED_WARNINGS  # Rasa's own noise, filtered by Rasa too
        ):
            continue
        problems.append(text)
    if not ok and not problems:
        problems.append("rasa data validation failed (see the log above)")
    return problems
