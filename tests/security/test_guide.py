"""docs/security.md names the test for every promise and catalogue line: each must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "security.md"
# `S/file.py::test` (short for tests/security/), `tests/.../file.py::test`, or a bare
# `::test` that continues the file named just before it in the same table cell.
REFERENCE = re.compile(r"`((?:S/|tests/)[\w/]+\.py)?::(test_\w+)")


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def test_every_test_the_security_guide_names_exists() -> None:
    missing, current, checked = [], None, 0
    for line in GUIDE.read_text().splitlines():
        for file, name in REFERENCE.findall(line):
            if file:
                current = REPO / file.replace("S/", "tests/security/", 1)
            assert current is not None, f"{name} has no file before it"
            checked += 1
            if not current.exists() or name not in _tests_in(current):
                missing.append(f"{current.relative_to(REPO)}::{name}")
    assert checked > 60
    assert not missing, missing


def test_every_catalogue_section_has_its_module() -> None:
    for section in (
        "extensions_and_config",
        "provisioning",
        "qr_and_softphones",
        "tokens_and_gateway",
        "licensing",
        "deploy",
    ):
        assert (REPO / "tests" / "security" / f"test_{section}.py").exists()
        assert f"S/test_{section}.py::" in GUIDE.read_text()
