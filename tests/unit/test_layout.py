"""The import contract between the top-level packages, read from the source (nothing imported).

``bot`` is the core: it imports neither ``connectors`` (the Rasa adapters) nor
``actions`` (the action server). ``connectors`` and ``actions`` build on ``bot`` and
not on each other. Every import counts: at the top of a module, inside a function (a
lazy import), under ``TYPE_CHECKING``, and ``importlib.import_module("...")`` with a
literal name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "connectors", "actions")
FORBIDDEN = {
    "bot": {"connectors", "actions"},
    "connectors": {"actions"},
    "actions": {"connectors"},
}
"""What each package must not import."""


@dataclass(frozen=True)
class Import:
    path: str
    """The importing file, relative to the project."""
    line: int
    module: str
    """The imported module, absolute."""

    @property
    def package(self) -> str:
        return self.module.split(".")[0]

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.module}"


def _module_name(path: Path) -> tuple[str, bool]:
    """The dotted name of the module at ``path`` and whether it is a package's ``__init__``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module a ``from ... import`` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_in(source: str, shown: str, module: str, is_package: bool = False) -> Iterator[Import]:
    """Every import in ``source`` (of ``module``, shown as ``shown``), wherever it is."""
    for node in ast.walk(ast.parse(source, filename=shown)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(shown, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(node, module, is_package)
            yield Import(shown, node.lineno, target)
            if node.module is None:  # from . import name: each name may be a module
                for alias in node.names:
                    yield Import(shown, node.lineno, f"{target}.{alias.name}")
        elif isinstance(node, ast.Call) and (name := _dynamic_import(node)):
            yield Import(shown, node.lineno, name)


def _dynamic_import(call: ast.Call) -> str | None:
    """The module of ``importlib.import_module("x")``, ``import_module("x")`` or ``__import__("x")``."""
    func = call.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if called not in ("import_module", "__import__") or not call.args:
        return None
    first = call.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def imports_in_file(path: Path) -> Iterator[Import]:
    module, is_package = _module_name(path)
    shown = str(path.relative_to(ROOT))
    yield from imports_in(path.read_text(encoding="utf-8"), shown, module, is_package)


def package_imports() -> dict[str, list[Import]]:
    """Per top-level package, its imports of the other top-level packages."""
    found: dict[str, list[Import]] = {package: [] for package in PACKAGES}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[package].extend(
                imported
                for imported in imports_in_file(path)
                if imported.package in PACKAGES and imported.package != package
            )
    return found


@pytest.fixture(scope="module")
def imports() -> dict[str, list[Import]]:
    return package_imports()


def test_every_package_is_read() -> None:
    for package in PACKAGES:
        assert (ROOT / package / "__init__.py").is_file(), f"{package} is not a package"
        assert any((ROOT / package).rglob("*.py")), f"{package} has no modules"


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_does_not_import_what_it_must_not(
    imports: dict[str, list[Import]], package: str
) -> None:
    wrong = [str(found) for found in imports[package] if found.package in FORBIDDEN[package]]
    assert not wrong, (
        f"{package} must not import {' or '.join(sorted(FORBIDDEN[package]))}:\n  "
        + "\n  ".join(wrong)
    )


def test_the_packages_import_each_other_in_no_cycle(imports: dict[str, list[Import]]) -> None:
    edges = {package: {found.package for found in imports[package]} for package in PACKAGES}

    def cycle_from(start: str) -> list[str] | None:
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        while stack:
            package, path = stack.pop()
            for target in sorted(edges[package]):
                if target == start:
                    return [*path, target]
                if target not in path:
                    stack.append((target, [*path, target]))
        return None

    for package in PACKAGES:
        cycle = cycle_from(package)
        if cycle:
            shown = [
                str(next(found for found in imports[a] if found.package == b))
                for a, b in pairwise(cycle)
            ]
            pytest.fail(f"import cycle {' -> '.join(cycle)}:\n  " + "\n  ".join(shown))


def test_the_reader_sees_lazy_relative_and_dynamic_imports() -> None:
    """The contract is only as good as its reading of the source."""
    source = (
        "import importlib\n"
        "from . import sibling\n"
        "from ..other import thing\n"
        "if TYPE_CHECKING:\n"
        "    import connectors.rest\n"
        "def later():\n"
        "    from connectors.widget import WidgetInput\n"
        "    importlib.import_module('actions.cards')\n"
    )
    found = {str(i) for i in imports_in(source, "bot/web/probe.py", "bot.web.probe")}
    assert found == {
        "bot/web/probe.py:1 imports importlib",
        "bot/web/probe.py:2 imports bot.web",
        "bot/web/probe.py:2 imports bot.web.sibling",
        "bot/web/probe.py:3 imports bot.other",
        "bot/web/probe.py:5 imports connectors.rest",
        "bot/web/probe.py:7 imports connectors.widget",
        "bot/web/probe.py:8 imports actions.cards",
    }
    in_package = {
        i.module for i in imports_in("from . import x", "bot/web/__init__.py", "bot.web", True)
    }
    assert in_package == {"bot.web", "bot.web.x"}
