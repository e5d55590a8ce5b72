"""The architecture rule of DESIGN.md, kept by import-linter (`make test` runs it too)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.suite import REPO

LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def run_lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_the_repository_keeps_every_contract() -> None:
    result = run_lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def make_tree(root: Path, files: dict[str, str]) -> None:
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    for package in (
        "services",
        "services/common",
        "services/extensions",
        "services/licensing",
        "services/aps",
        "gateway",
    ):
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text("")
    # Every allowed import is present, as in the real tree, so the ignore list matches.
    allowed = {
        "services/licensing/client.py": "",
        "services/extensions/client.py": "",
        "services/extensions/uses.py": "import services.licensing.client\n",
        "services/aps/uses.py": (
            "import services.extensions.client\nimport services.licensing.client\n"
        ),
    }
    for name, text in {**allowed, **files}.items():
        (root / name).write_text(text)


def test_a_service_reaching_into_another_services_internals_is_caught(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            "services/licensing/pools.py": "",
            "services/licensing/client.py": "",
            "services/extensions/ok.py": "import services.licensing.client\n",
            "services/extensions/bad.py": "import services.licensing.pools\n",
        },
    )
    result = run_lint(tmp_path)
    assert result.returncode == 1
    assert "services.extensions.bad -> services.licensing.pools" in result.stdout


def test_licensing_calling_another_service_is_caught(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            "services/extensions/client.py": "",
            "services/licensing/bad.py": "import services.extensions.client\n",
        },
    )
    result = run_lint(tmp_path)
    assert result.returncode == 1
    assert "Licensing depends on nobody BROKEN" in result.stdout
