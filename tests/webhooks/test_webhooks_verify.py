"""`verify`: HMAC and JWT checks over the raw bytes, with rotation and clock skew.

Genuine deliveries are signed by the sandbox's signing code (`jirakit.sandbox.webhooks`),
written independently of the receiver's, so a shared mistake cannot make both agree."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest

from jirakit.sandbox.webhooks import jwt_encode, query_string_hash
from jirakit.sandbox.webhooks import sign as jira_sign
from jirakit.webhooks import Secrets, VerificationError, sign, sign_jwt, verify
from jirakit.webhooks.verification import query_string_hash as our_qsh

BODY = b'{"webhookEvent":"jira:issue_updated","issue":{"id":"10001"}}'
URL = "/webhooks/jira"


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": "site-client-key",
        "aud": "my-app",
        "sub": "acct-1",
        "iat": now,
        "exp": now + 180,
        "qsh": query_string_hash("POST", URL),
    }
    base.update(overrides)
    return base


def jwt_header(secret: str = "app-secret", **overrides: object) -> dict[str, str]:
    return {"Authorization": f"JWT {jwt_encode(claims(**overrides), secret)}"}


def reason(body: bytes, headers: dict[str, str], secrets: Secrets, url: str = URL) -> str:
    with pytest.raises(VerificationError) as info:
        verify(body, headers, secrets, url=url)
    assert info.value.status == 401
    return info.value.reason


# -- HMAC -------------------------------------------------------------------------------------


def test_hmac_signed_by_jira_verifies_in_any_header_case():
    secrets = Secrets(hmac=("s3cret",))
    assert sign(BODY, "s3cret") == jira_sign(BODY, "s3cret")
    ok = verify(BODY, {"x-hub-signature": jira_sign(BODY, "s3cret")}, secrets)
    assert (ok.method, ok.secret_index) == ("hmac", 0)
    ok = verify(BODY, [("X-HUB-SIGNATURE", jira_sign(BODY, "s3cret"))], secrets)
    assert ok.method == "hmac"


def test_hmac_rejects_a_changed_body_a_wrong_secret_and_bad_headers():
    secrets = Secrets(hmac=("s3cret",))
    good = jira_sign(BODY, "s3cret")
    assert reason(BODY + b" ", {"X-Hub-Signature": good}, secrets) == "bad_signature"
    assert reason(BODY, {"X-Hub-Signature": jira_sign(BODY, "other")}, secrets) == "bad_signature"
    assert reason(BODY, {"X-Hub-Signature": "sha1=" + good[7:]}, secrets) == "bad_signature"
    assert reason(BODY, {"X-Hub-Signature": "sha256=zz"}, secrets) == "bad_signature"
    assert reason(BODY, {"X-Hub-Signature": "sha256=" + good[7:-2]}, secrets) == "bad_signature"
    assert reason(BODY, {}, secrets) == "missing_signature"


def test_two_hmac_secrets_during_rotation():
    secrets = Secrets(hmac=("new-secret", "old-secret"))
    assert (
        verify(BODY, {"X-Hub-Signature": jira_sign(BODY, "old-secret")}, secrets).secret_index == 1
    )
    assert (
        verify(BODY, {"X-Hub-Signature": jira_sign(BODY, "new-secret")}, secrets).secret_index == 0
    )


def test_secrets_from_the_environment_comma_separated():
    env = {"JIRAKIT_WEBHOOK_SECRET": "a, b", "JIRAKIT_WEBHOOK_JWT_SECRET": "j1,j2"}
    secrets = Secrets.from_env(hmac=["given"], environ=env)
    assert secrets.hmac == ("given", "a", "b")
    assert secrets.jwt == ("j1", "j2")
    assert "given" not in repr(secrets) and "j1" not in repr(secrets)


def test_unsigned_deliveries_only_when_allowed():
    assert reason(BODY, {}, Secrets(hmac=("x",))) == "missing_signature"
    assert verify(BODY, {}, Secrets(allow_unsigned=True)).method == "none"
    # a signature that is present is still checked
    allow = Secrets(hmac=("x",), allow_unsigned=True)
    assert reason(BODY, {"X-Hub-Signature": jira_sign(BODY, "y")}, allow) == "bad_signature"


# -- JWT --------------------------------------------------------------------------------------


def test_jwt_signed_like_jira_verifies():
    secrets = Secrets(jwt=("app-secret",), app_key="my-app", issuers=("site-client-key",))
    ok = verify(BODY, jwt_header(), secrets, url=URL)
    assert ok.method == "jwt" and ok.claims is not None and ok.claims["sub"] == "acct-1"
    # our own signer makes tokens the sandbox's decoder accepts too
    token = sign_jwt("app-secret", url=URL, issuer="site-client-key", audience="my-app")
    assert verify(BODY, {"Authorization": f"JWT {token}"}, secrets, url=URL).method == "jwt"


def test_jwt_rejections_name_the_problem():
    secrets = Secrets(jwt=("app-secret",), app_key="my-app", issuers=("site-client-key",))
    now = int(time.time())
    assert reason(BODY, jwt_header("wrong"), secrets) == "bad_jwt"
    assert reason(BODY, jwt_header(exp=now - 120, iat=now - 300), secrets) == "expired"
    assert reason(BODY, jwt_header(iat=now + 600, exp=now + 780), secrets) == "not_yet_valid"
    assert reason(BODY, jwt_header(iss="someone-else"), secrets) == "issuer"
    assert reason(BODY, jwt_header(aud="another-app"), secrets) == "audience"
    assert reason(BODY, jwt_header(), secrets, url="/elsewhere") == "qsh"
    assert reason(BODY, jwt_header(qsh=None), secrets) == "qsh"
    assert reason(BODY, {"Authorization": "JWT not.a.jwt"}, secrets) == "bad_jwt"
    assert reason(BODY, {"Authorization": "JWT x"}, secrets) == "bad_jwt"


def test_jwt_clock_skew_within_the_leeway_passes():
    secrets = Secrets(jwt=("app-secret",), leeway=60)
    now = int(time.time())
    # expired 30 s ago, issued 30 s in the future: both inside 60 s of skew
    assert verify(BODY, jwt_header(exp=now - 30), secrets, url=URL).method == "jwt"
    assert verify(BODY, jwt_header(iat=now + 30), secrets, url=URL).method == "jwt"
    strict = Secrets(jwt=("app-secret",), leeway=0)
    assert reason(BODY, jwt_header(exp=now - 30), strict) == "expired"


def test_jwt_alg_none_and_other_algorithms_are_refused():
    payload = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=").decode()
    for alg in ("none", "HS512", "RS256"):
        header = base64.urlsafe_b64encode(json.dumps({"alg": alg}).encode()).rstrip(b"=").decode()
        token = f"{header}.{payload}."
        assert reason(BODY, {"Authorization": f"JWT {token}"}, Secrets(jwt=("x",))) == "bad_jwt"


def test_two_jwt_secrets_during_rotation():
    secrets = Secrets(jwt=("new", "old"))
    assert verify(BODY, jwt_header("old"), secrets, url=URL).secret_index == 1


def test_qsh_matches_the_sandbox_for_paths_and_queries():
    for url in (
        "/webhooks/jira",
        "/webhooks/jira/",
        "/hooks?b=2&a=1&a=0",
        "/hooks?x=ab&jwt=ignored&e=~",
        "http://example.com:8080/p&q/r?z=",
    ):
        assert our_qsh("POST", url) == query_string_hash("POST", url), url


def test_qsh_encodes_decoded_query_values_once():
    """Atlassian's canonical query string percent-encodes the *decoded* parameter values
    (space as %20, '+' read as a space): an escaped value is not escaped twice."""
    canonical = "POST&/hooks&e=~&x=a%20b"
    want = hashlib.sha256(canonical.encode()).hexdigest()
    assert our_qsh("POST", "/hooks?x=a%20b&jwt=ignored&e=~") == want
    assert our_qsh("POST", "/hooks?x=a+b&e=%7E") == want


def test_a_jwt_delivery_needs_a_jwt_secret_and_hmac_one_an_hmac_secret():
    assert reason(BODY, jwt_header(), Secrets(hmac=("x",))) == "bad_jwt"
    assert reason(BODY, {"X-Hub-Signature": jira_sign(BODY, "x")}, Secrets(jwt=("x",))) == (
        "bad_signature"
    )


def test_signature_checks_take_the_same_path_for_every_secret():
    """No early exit: a wrong signature is compared against every configured secret, and
    the right one is found whatever its position (rotation order)."""
    many = tuple(f"secret-{i}" for i in range(5))
    secrets = Secrets(hmac=many)
    for index, secret in enumerate(many):
        assert verify(BODY, {"X-Hub-Signature": jira_sign(BODY, secret)}, secrets).secret_index == (
            index
        )
