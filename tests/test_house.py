"""The house rules a newcomer can rely on (docs/architecture.md): files and functions of a readable size, schemas in
``schemas.py``, and every task and domain-event handler module registered where every process loads them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.infra import ROOT

pytestmark = pytest.mark.unit

MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 60
CODE = ("backend", "mobile_api", "worker")
# Files a person does not write: vendored libraries and generated data.
NOT_WRITTEN = ("backend/web/static/vendor/",)
SOURCE_SUFFIXES = {".py", ".js", ".css", ".html"}


def _tracked(*tops: str) -> list[Path]:
    found = []
    for top in tops:
        for path in sorted((ROOT / top).rglob("*")):
            relative = path.relative_to(ROOT).as_posix()
            if (
                path.suffix in SOURCE_SUFFIXES
                and not relative.startswith(NOT_WRITTEN)
                and "__pycache__" not in relative
            ):
                found.append(path)
    return found


def test_no_file_is_over_500_lines() -> None:
    """Migrations are history, not read as a whole: every other file a person wrote fits in one sitting."""
    long = {
        path.relative_to(ROOT).as_posix(): lines
        for path in _tracked(*CODE, "tests", "benchmarks", "scripts")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES
    }
    assert not long, f"files over {MAX_FILE_LINES} lines (split them by what each part is for): {long}"


def _functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (f"{path.relative_to(ROOT).as_posix()}:{node.lineno} {node.name}", node.end_lineno - node.lineno + 1)  # type: ignore[operator]
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def test_no_function_is_over_60_lines() -> None:
    long = {
        name: lines
        for path in _tracked(*CODE)
        if path.suffix == ".py"
        for name, lines in _functions(path)
        if lines > MAX_FUNCTION_LINES
    }
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (give each step a name): {long}"


def _classes_defined(path: Path) -> list[str]:
    return [node.name for node in ast.parse(path.read_text(encoding="utf-8")).body if isinstance(node, ast.ClassDef)]


def test_routers_define_no_schemas() -> None:
    """A domain's payloads live in its ``schemas.py``; its routers only route."""
    found = {
        path.relative_to(ROOT).as_posix(): classes
        for path in _tracked(*CODE)
        if re.fullmatch(r".*router\.py", path.name) and (classes := _classes_defined(path))
    }
    assert not found, f"classes defined in routers (move them to the package's schemas.py): {found}"


def _registry_imports() -> set[str]:
    tree = ast.parse((ROOT / "worker" / "registry.py").read_text(encoding="utf-8"))
    return {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}


def test_every_task_and_handler_module_is_registered() -> None:
    """A task or a domain-event handler defined in a module that ``worker.registry`` does not import would never
    run: the processes load exactly what that module imports."""
    registered = _registry_imports()
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "backend").rglob("*.py")
        if re.search(r"^@(task|handles)\(", path.read_text(encoding="utf-8"), re.M)
    }
    assert modules <= registered, f"not imported by worker/registry.py: {sorted(modules - registered)}"
