"""The very first telephony commit on an Asterisk running the administrator's files.

Asterisk refuses a whole configuration file whose `#include` target is missing. The
documented lines are `#tryinclude` (skipped while missing), and the extensions service
writes an empty revision 0 at its first start, so plain `#include` works too once
ShareLine has started before Asterisk.
"""

from __future__ import annotations

import pytest

from tests.asterisk.conftest import BOOTSTRAP, ok
from tests.asterisk.pbx import Asterisk, asterisk_bin
from tests.support.suite import Suite

pytestmark = pytest.mark.asterisk


def first_commit(root, directive: str, shareline_first: bool = False) -> tuple[dict, str]:
    binary = asterisk_bin()
    assert binary is not None
    config_dir = root / "shareline-asterisk"
    pbx = Asterisk(root / "pbx", config_dir, binary, directive=directive)
    suite = Suite(
        root / "suite",
        extra_env={"SHARELINE_ASTERISK_CONFIG_DIR": str(config_dir), **pbx.ami_env()},
    )
    try:
        if shareline_first:
            suite.start_all()
            pbx.start()
        else:
            pbx.start()
            suite.start_all()
        with suite.admin_client() as admin:
            ok(admin.post("/api/v1/extensions", json=BOOTSTRAP), 201)
            result = ok(admin.post("/api/v1/telephony/commits"), 201)
        return result["revision"]["deploy"], pbx.log_text()
    finally:
        suite.stop_all()
        pbx.stop()


def test_first_commit_with_include_lines_when_shareline_started_first(tmp_path) -> None:
    deploy, log = first_commit(tmp_path, "#include", shareline_first=True)
    assert "was listed as a #include but it does not exist" not in log
    assert deploy["status"] == "deployed", deploy


def test_first_commit_with_tryinclude_lines_deploys(tmp_path) -> None:
    deploy, _log = first_commit(tmp_path, "#tryinclude")
    assert deploy["status"] == "deployed", deploy
