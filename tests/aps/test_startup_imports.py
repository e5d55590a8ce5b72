"""APS starts without the QR code libraries; they load when a code is first drawn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHECK = """
import sys
from services.aps.app import create_app
from services.aps.settings import Settings
create_app(Settings(data_dir=sys.argv[1]))
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("qrcode", "PIL"))
assert not loaded, loaded
from services.aps.softphones.qr import PNG, render
assert render("https://pbx.example.com/provision/softphone/t", PNG).startswith(b"\\x89PNG")
assert "PIL" in sys.modules
"""


def test_qr_libraries_are_not_loaded_until_a_code_is_drawn(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(tmp_path)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
