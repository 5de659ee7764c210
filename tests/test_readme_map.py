"""The README's map ("How it is built") against the tree: nothing missing, nothing that is not there.

The map is the first fenced block after the heading "## How it is built": one entry a line, a path and what it is
for, nested by two spaces of indentation (``  core/`` under ``backend/`` is ``backend/core/``). Every package of
``backend/`` (a directory with an ``__init__.py``) and every top-level directory of the repository must be listed;
every path listed must exist. Packages only, not modules: packages gain and lose modules as the code moves.
No process is started: this reads files.
"""

from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
HEADING = "## How it is built"
ENTRY = re.compile(r"^(?P<indent> *)(?P<path>[A-Za-z0-9_.-]+/?)\s{2,}(?P<what>\S.*)$")
# Directories that are the machine's, not the project's.
NOT_THE_PROJECT = {".venv", "var", "test-artifacts", "build", "node_modules", "__pycache__"}


def map_lines(readme: str) -> list[str]:
    """The lines of the map: the first fenced block after the heading."""
    after = readme.split(f"\n{HEADING}\n", 1)
    assert len(after) == 2, f"the README has no heading {HEADING!r}"
    block = re.search(r"^```[^\n]*\n(.*?)^```$", after[1], re.MULTILINE | re.DOTALL)
    assert block is not None, f"no fenced block after {HEADING!r}"
    return block.group(1).splitlines()


def entries(lines: list[str]) -> dict[str, str]:
    """Each path the map lists (relative to the repository, directories ending in ``/``), with what it is for."""
    listed: dict[str, str] = {}
    parents: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        found = ENTRY.match(line)
        assert found, f"map line {number} is not 'path  what it is for': {line!r}"
        indent = len(found["indent"])
        assert indent % 2 == 0 and indent // 2 <= len(parents), f"map line {number} is indented oddly: {line!r}"
        del parents[indent // 2 :]
        path = "".join(parents) + found["path"]
        assert path not in listed, f"{path} is listed twice"
        listed[path] = found["what"]
        if path.endswith("/"):
            parents.append(found["path"])
    return listed


def ignored(name: str) -> bool:
    """True for what is not the project's: hidden, the machine's own, or ignored by the repository's .gitignore."""
    if name.startswith(".") or name in NOT_THE_PROJECT or name.endswith(".egg-info"):
        return True
    patterns = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return any(fnmatch(name, p.strip().strip("/")) for p in patterns if p.strip() and not p.startswith("#"))


def top_level_directories() -> set[str]:
    """The repository's own top-level directories (what git tracks, read without running git)."""
    return {entry.name for entry in ROOT.iterdir() if entry.is_dir() and not ignored(entry.name)}


def backend_packages() -> set[str]:
    """The packages of ``backend/``: its directories with an ``__init__.py``."""
    return {entry.name for entry in (ROOT / "backend").iterdir() if (entry / "__init__.py").is_file()}


@pytest.fixture(scope="module")
def listed() -> dict[str, str]:
    return entries(map_lines(README.read_text(encoding="utf-8")))


def test_every_backend_package_is_on_the_map(listed: dict[str, str]) -> None:
    missing = sorted(f"backend/{name}/" for name in backend_packages() if f"backend/{name}/" not in listed)
    assert not missing, f"backend packages missing from the README's map: {missing}"


def test_every_top_level_directory_is_on_the_map(listed: dict[str, str]) -> None:
    missing = sorted(f"{name}/" for name in top_level_directories() if f"{name}/" not in listed)
    assert not missing, f"top-level directories missing from the README's map: {missing}"


def test_everything_on_the_map_exists(listed: dict[str, str]) -> None:
    absent = [
        path for path in listed if not ((ROOT / path).is_dir() if path.endswith("/") else (ROOT / path).is_file())
    ]
    assert not absent, f"the README's map lists paths that do not exist: {absent}"


def test_map_lines_say_what_each_is_for(listed: dict[str, str]) -> None:
    assert len(listed) >= len(backend_packages()) + 1
    short = [path for path, what in listed.items() if len(what.split()) < 3]
    assert not short, f"say in a few words what these are for: {short}"


def test_the_parser_nests_and_refuses() -> None:
    """The map's own reader: indentation nests, and a line without a description is refused."""
    assert entries(["backend/   the platform", "  core/    the plumbing", "tests/   the suite"]) == {
        "backend/": "the platform",
        "backend/core/": "the plumbing",
        "tests/": "the suite",
    }
    with pytest.raises(AssertionError):
        entries(["backend/"])
    with pytest.raises(AssertionError):
        entries(["    core/   too deep without a parent"])
