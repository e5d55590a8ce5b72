"""Outbound HTTP between services: timeouts always, retries only where safe.

A call is retried on a connection failure or a 502/503/504 only when repeating it
cannot do harm: the method is idempotent, or the request carries an Idempotency-Key.
"""

from __future__ import annotations

import functools
import ssl
import time
from typing import Any

import httpx

from services.common.errors import BadGateway, RemoteProblem, ServiceUnavailable
from services.common.logs import request_id_var
from services.common.service_tokens import HEADER, TokenMinter

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({502, 503, 504})


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """The TLS context every client shares: httpx otherwise loads the CA bundle into a
    context of its own for each client, about 1 MiB apiece (the gateway holds 24)."""
    return httpx.create_ssl_context()


def make_client(base_url: str, timeout: float = 10.0) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        verify=shared_tls_context(),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
    )


def make_async_client(base_url: str = "", timeout: float = 10.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        verify=shared_tls_context(),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
    )


def may_retry(method: str, headers: dict[str, str] | None) -> bool:
    if method.upper() in IDEMPOTENT:
        return True
    return bool(headers) and any(k.lower() == "idempotency-key" for k in headers or {})


class ServiceClient:
    """Base of every service's published client: a target service and a token minter."""

    service_name = "service"

    def __init__(
        self,
        base_url: str,
        minter: TokenMinter,
        *,
        timeout: float = 10.0,
        retries: int = 2,
        http: httpx.Client | None = None,
    ) -> None:
        self._http = http or make_client(base_url, timeout)
        self._minter = minter
        self._retries = retries

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        actor: tuple[str | None, str | None] = (None, None),
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        all_headers[HEADER] = self._minter.token(user=actor[0], role=actor[1])
        all_headers.setdefault("X-Request-ID", request_id_var.get())
        attempts = 1 + (self._retries if may_retry(method, headers) else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._http.request(method, path, headers=all_headers, **kwargs)
            except httpx.TransportError as exc:
                if last:
                    raise ServiceUnavailable(
                        f"the {self.service_name} service is unreachable",
                        service=self.service_name,
                    ) from exc
            else:
                if response.status_code not in RETRY_STATUSES or last:
                    return response
            time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    problem_class: type[RemoteProblem] = RemoteProblem

    def answer(self, response: httpx.Response) -> Any:
        """The JSON body of a success; otherwise the service's problem, raised as ours.

        An upstream that is down or overloaded is 503 naming it; an answer that is not a
        problem document becomes a 502.
        """
        if response.status_code < 400:
            return response.json()
        if response.status_code in (502, 503, 504):
            raise ServiceUnavailable(
                f"the {self.service_name} service is unavailable ({response.status_code})",
                service=self.service_name,
            )
        try:
            problem = response.json()
        except ValueError:
            problem = None
        if not isinstance(problem, dict) or "type" not in problem:
            problem = BadGateway(
                f"the {self.service_name} service answered {response.status_code}",
                service=self.service_name,
            ).to_problem()
        raise self.problem_class(problem)
