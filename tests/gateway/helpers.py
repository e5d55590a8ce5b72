"""Small steps the gateway tests share: logging in, adding accounts."""

from __future__ import annotations

import httpx


async def login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token",
        data={"username": username, "password": password, "grant_type": "password"},
    )


async def bearer(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await login(client, username, password)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def add_user(
    client: httpx.AsyncClient, admin: dict[str, str], username: str, role: str
) -> dict[str, str]:
    """Create `username` with `role` and return its bearer header."""
    password = f"{username}-password-123"
    created = await client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": username, "password": password, "role": role},
    )
    assert created.status_code == 201, created.text
    return await bearer(client, username, password)
