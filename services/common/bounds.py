"""Bounds for integers from a request that reach a database column.

Past a 32-bit integer SQLite and PostgreSQL raise instead of matching nothing, which
would surface as a 500; bounding the parameter makes it a 422 problem instead.
"""

from __future__ import annotations

MAX_DB_INT = 2**31 - 1
