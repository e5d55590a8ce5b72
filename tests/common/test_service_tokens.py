from __future__ import annotations

import time

import jwt
import pytest

from services.common.errors import Unauthorized
from services.common.service_tokens import TokenMinter, TokenVerifier, issue, verify

SECRET = "unit-test-secret-" + "0123456789abcdef" * 4


def test_token_names_caller_audience_and_person() -> None:
    token = issue(SECRET, issuer="gateway", audience="extensions", user="alice", role="operator")
    caller = verify(SECRET, token, audience="extensions")
    assert (caller.service, caller.user, caller.role) == ("gateway", "alice", "operator")
    assert caller.actor == "alice"


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda: issue(SECRET, issuer="gateway", audience="aps"), id="wrong-audience"),
        pytest.param(
            lambda: issue(
                "other-secret-0123456789abcdef0123456", issuer="gateway", audience="extensions"
            ),
            id="wrong-secret",
        ),
        pytest.param(
            lambda: issue(SECRET, issuer="gateway", audience="extensions", now=time.time() - 3600),
            id="expired",
        ),
        pytest.param(
            lambda: issue(SECRET, issuer="stranger", audience="extensions"), id="unknown-issuer"
        ),
        pytest.param(
            lambda: issue(SECRET, issuer="extensions", audience="extensions"), id="self-issued"
        ),
        pytest.param(
            lambda: jwt.encode({"iss": "gateway", "aud": "extensions"}, SECRET, algorithm="HS256"),
            id="no-exp",
        ),
        pytest.param(
            lambda: jwt.encode(
                {
                    "iss": "gateway",
                    "aud": "extensions",
                    "iat": int(time.time()),
                    "exp": int(time.time()) + 60,
                },
                SECRET,
                algorithm="HS512",
            ),
            id="other-algorithm",
        ),
        pytest.param(
            lambda: jwt.encode(
                {
                    "iss": "gateway",
                    "aud": "extensions",
                    "iat": int(time.time()),
                    "exp": int(time.time()) + 60,
                },
                None,
                algorithm="none",
            ),
            id="alg-none",
        ),
    ],
)
def test_bad_tokens_are_refused(make_token) -> None:
    with pytest.raises(Unauthorized):
        verify(SECRET, make_token(), audience="extensions")


def test_minter_reuses_anonymous_tokens_but_not_personal_ones() -> None:
    minter = TokenMinter(SECRET, "gateway", "aps", ttl_seconds=120)
    assert minter.token() == minter.token()
    assert minter.token(user="bob") != minter.token(user="bob")


def test_verifier_refuses_missing_token_and_accepts_good_one() -> None:
    verifier = TokenVerifier(SECRET, "licensing")
    with pytest.raises(Unauthorized):
        verifier(None)
    token = issue(SECRET, issuer="extensions", audience="licensing")
    assert verifier(token).service == "extensions"
    assert verifier(token).service == "extensions"
