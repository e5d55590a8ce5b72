"""`python -m deploy.healthcheck [port]`: exit 0 when this container's /healthz answers 200.

The slim image has no curl; this is the container health check of every ShareLine
process. The port comes from argv, else `SHARELINE_HEALTH_PORT`, else 8000 (the gateway).
"""

from __future__ import annotations

import os
import sys
import urllib.request


def main(argv: list[str]) -> int:
    port = argv[1] if len(argv) > 1 else os.environ.get("SHARELINE_HEALTH_PORT", "8000")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{int(port)}/healthz", timeout=3) as r:
            return 0 if r.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
