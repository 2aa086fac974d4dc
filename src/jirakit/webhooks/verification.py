"""Verify a Jira webhook delivery over its raw bytes, before anything parses the body.

    verified = verify(raw_body, headers, Secrets(hmac=("s3cret",)))   # or raises
    verified.method        # "hmac", "jwt" or "none"

Two schemes, as Jira sends them:

- admin webhooks registered with a secret: ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of
  the raw body>``;
- dynamic webhooks of OAuth 2.0 / Connect apps: ``Authorization: JWT <token>``, HS256 with
  the app's shared secret; claims ``iss`` (the site's client key), ``aud`` (the app key),
  ``iat``/``exp`` (checked with a small clock-skew ``leeway``) and ``qsh`` (a hash of the
  request's method, path and query: Atlassian Connect's query-string hash).

Every comparison is constant time (`hmac.compare_digest`), and every configured secret is
tried (rotation: the new one and the old one at once), so the time taken does not say which
secret matched or how much of a signature was right.

A JWT signs the request line, not the body. A body changed under a replayed token is caught
where it can be: the inbox binds each ``X-Atlassian-Webhook-Identifier`` to the hash of the
first body stored under it (`jirakit.webhooks.store`), and fetch-on-notify applies what
Jira says now rather than what a body claims (docs/webhooks.md).

The JWT is checked here rather than with a JOSE library: those refuse (or warn about) the
short shared secrets Connect installs and tests use, the algorithm is pinned to HS256
anyway (``none`` and every other ``alg`` are refused), and ``qsh`` is Atlassian's own claim.
`sign` and `sign_jwt` make valid deliveries for tests and tools (`githubkit`'s pattern).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "Secrets",
    "VerificationError",
    "Verified",
    "Verifier",
    "query_string_hash",
    "sign",
    "sign_jwt",
    "verify",
]

ENV_HMAC = "JIRAKIT_WEBHOOK_SECRET"
ENV_JWT = "JIRAKIT_WEBHOOK_JWT_SECRET"


class VerificationError(Exception):
    """The delivery is not from Jira (or not for us). ``reason`` is a short code for
    counters and logs (``missing_signature``, ``bad_signature``, ``bad_jwt``, ``expired``,
    ``not_yet_valid``, ``issuer``, ``audience``, ``qsh``); the message says what to fix."""

    status = 401

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Verified:
    """A delivery that passed: how, and with which secret (0 = the first configured)."""

    method: str  # "hmac" | "jwt" | "none"
    secret_index: int | None = None
    claims: Mapping[str, Any] | None = None


def _secrets(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(s.strip() for s in items if s and s.strip())


@dataclass(frozen=True)
class Secrets:
    """What a receiver accepts.

    - ``hmac``: admin-webhook secrets (``X-Hub-Signature``); more than one during rotation;
    - ``jwt``: shared secrets of the app whose dynamic webhooks post here;
    - ``app_key``: the JWT's expected ``aud`` (the app key / OAuth client id), None: any;
    - ``issuers``: accepted ``iss`` values (sites' client keys), empty: any;
    - ``leeway``: seconds of clock skew allowed on ``exp``/``iat``;
    - ``require_qsh``: a JWT without a ``qsh`` claim is refused;
    - ``allow_unsigned``: accept deliveries with no signature at all (admin webhooks
      registered without a secret). Off by default: with it on anyone who can reach the
      URL can post.
    """

    hmac: tuple[str, ...] = ()
    jwt: tuple[str, ...] = ()
    app_key: str | None = None
    issuers: tuple[str, ...] = ()
    leeway: float = 60.0
    require_qsh: bool = True
    allow_unsigned: bool = False
    _hmac_keys: tuple[bytes, ...] = field(init=False, repr=False, compare=False)
    _jwt_keys: tuple[bytes, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hmac", _secrets(self.hmac))
        object.__setattr__(self, "jwt", _secrets(self.jwt))
        object.__setattr__(self, "issuers", _secrets(self.issuers))
        object.__setattr__(self, "_hmac_keys", tuple(s.encode() for s in self.hmac))
        object.__setattr__(self, "_jwt_keys", tuple(s.encode() for s in self.jwt))
        if self.leeway < 0:
            raise ValueError("leeway must be >= 0 seconds")

    def __repr__(self) -> str:  # never print a secret
        return (
            f"Secrets(hmac=<{len(self.hmac)}>, jwt=<{len(self.jwt)}>, app_key={self.app_key!r}, "
            f"issuers={self.issuers!r}, allow_unsigned={self.allow_unsigned})"
        )

    @property
    def configured(self) -> bool:
        return bool(self.hmac or self.jwt)

    @classmethod
    def from_env(
        cls,
        hmac: Iterable[str] = (),
        jwt: Iterable[str] = (),
        environ: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Secrets:
        """Secrets given here plus those in ``JIRAKIT_WEBHOOK_SECRET`` and
        ``JIRAKIT_WEBHOOK_JWT_SECRET`` (comma-separated for rotation)."""
        env = os.environ if environ is None else environ
        return cls(
            hmac=(*_secrets(list(hmac)), *_secrets(env.get(ENV_HMAC))),
            jwt=(*_secrets(list(jwt)), *_secrets(env.get(ENV_JWT))),
            **options,
        )


# -- HMAC -----------------------------------------------------------------------------------


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature`` value Jira sends for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _check_hmac(body: bytes, header: str, keys: tuple[bytes, ...]) -> int:
    method, _, given = header.strip().partition("=")
    if method.lower() != "sha256" or not given:
        raise VerificationError(
            "bad_signature", "X-Hub-Signature must be 'sha256=<hex HMAC-SHA256 of the body>'"
        )
    try:
        digest = bytes.fromhex(given.strip())
    except ValueError:
        raise VerificationError("bad_signature", "X-Hub-Signature is not hex") from None
    matched: int | None = None
    for index, key in enumerate(keys):  # every key, no early exit
        if hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), digest):
            matched = index if matched is None else matched
    if matched is None:
        raise VerificationError(
            "bad_signature", "X-Hub-Signature does not match the body with any configured secret"
        )
    return matched


# -- JWT ------------------------------------------------------------------------------------


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode_query_part(text: str) -> str:
    # Connect's canonical query: RFC 3986 percent-encoding, spaces as %20, '~' kept.
    return quote(unquote(text.replace("+", " ")), safe="~")


def query_string_hash(method: str, url: str) -> str:
    """Atlassian Connect's ``qsh`` claim: the SHA-256 (hex) of the canonical request
    ``METHOD&<path>&<sorted query>`` (``jwt`` left out; a parameter's values sorted and
    joined by ``,``; the path without a trailing slash, ``&`` in it as ``%26``)."""
    parts = urlsplit(url)
    path = (parts.path.rstrip("/") or "/").replace("&", "%26")
    params: dict[str, list[str]] = {}
    for pair in parts.query.split("&") if parts.query else ():
        name, _, value = pair.partition("=")
        if name and name != "jwt":
            params.setdefault(_encode_query_part(name), []).append(_encode_query_part(value))
    query = "&".join(
        f"{name}={','.join(sorted(values))}" for name, values in sorted(params.items())
    )
    return hashlib.sha256(f"{method.upper()}&{path}&{query}".encode()).hexdigest()


def sign_jwt(
    secret: str,
    *,
    url: str,
    method: str = "POST",
    issuer: str = "jirakit",
    audience: str | None = None,
    issued_at: float | None = None,
    ttl: float = 180.0,
    **claims: Any,
) -> str:
    """An ``Authorization: JWT`` token for a delivery to ``url``, as Jira signs one."""
    iat = int(time.time() if issued_at is None else issued_at)
    body: dict[str, Any] = {"iss": issuer, "iat": iat, "exp": int(iat + ttl)}
    if audience is not None:
        body["aud"] = audience
    body["qsh"] = query_string_hash(method, url)
    body.update(claims)
    header = _b64encode(b'{"alg":"HS256","typ":"JWT"}')
    payload = _b64encode(json.dumps(body, separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64encode(mac)}"


def _bad_jwt(message: str) -> VerificationError:
    return VerificationError("bad_jwt", message)


def _check_jwt(
    authorization: str, secrets: Secrets, *, method: str, url: str | None, now: float
) -> tuple[int, dict[str, Any]]:
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.upper() != "JWT" or not token.strip():
        raise _bad_jwt("expected 'Authorization: JWT <token>'")
    try:
        header_b64, payload_b64, mac_b64 = token.strip().split(".")
        header = json.loads(_b64decode(header_b64))
        mac = _b64decode(mac_b64)
    except (ValueError, binascii.Error):
        raise _bad_jwt("the JWT is not three base64url parts") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise _bad_jwt("the JWT must be signed with HS256")
    signed = f"{header_b64}.{payload_b64}".encode()
    matched: int | None = None
    for index, key in enumerate(secrets._jwt_keys):
        if hmac.compare_digest(hmac.new(key, signed, hashlib.sha256).digest(), mac):
            matched = index if matched is None else matched
    if matched is None:
        raise _bad_jwt("the JWT's signature does not match any configured secret")
    try:
        claims = json.loads(_b64decode(payload_b64))
    except (ValueError, binascii.Error):
        raise _bad_jwt("the JWT's claims are not JSON") from None
    if not isinstance(claims, dict):
        raise _bad_jwt("the JWT's claims must be an object")
    _check_claims(claims, secrets, method=method, url=url, now=now)
    return matched, claims


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad_jwt(f"the JWT has no numeric '{name}' claim")
    return float(value)


def _check_claims(
    claims: Mapping[str, Any], secrets: Secrets, *, method: str, url: str | None, now: float
) -> None:
    leeway = secrets.leeway
    if _number(claims, "exp") + leeway < now:
        raise VerificationError("expired", "the JWT has expired (check the clocks)")
    if _number(claims, "iat") - leeway > now:
        raise VerificationError("not_yet_valid", "the JWT was issued in the future")
    if "nbf" in claims and _number(claims, "nbf") - leeway > now:
        raise VerificationError("not_yet_valid", "the JWT is not valid yet")
    if secrets.issuers and claims.get("iss") not in secrets.issuers:
        raise VerificationError("issuer", "the JWT's 'iss' is not an accepted client key")
    if secrets.app_key is not None:
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if secrets.app_key not in audiences:
            raise VerificationError("audience", "the JWT's 'aud' is not this app's key")
    qsh = claims.get("qsh")
    if qsh is None:
        if secrets.require_qsh:
            raise VerificationError("qsh", "the JWT has no 'qsh' claim")
        return
    if url is None:
        raise VerificationError("qsh", "no request URL to check the JWT's 'qsh' against")
    expected = query_string_hash(method, url)
    if not isinstance(qsh, str) or not hmac.compare_digest(qsh.encode(), expected.encode()):
        raise VerificationError("qsh", "the JWT's 'qsh' does not match this request")


# -- the check ------------------------------------------------------------------------------


def _lower(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {str(k).lower(): str(v) for k, v in items}


class Verifier:
    """`verify` with its configuration bound (what the receiver app holds)."""

    def __init__(self, secrets: Secrets, clock: Any = time.time) -> None:
        self.secrets = secrets
        self.clock = clock

    def __call__(
        self,
        raw_body: bytes,
        headers: Mapping[str, str] | Iterable[tuple[str, str]],
        *,
        method: str = "POST",
        url: str | None = None,
    ) -> Verified:
        return self.check(raw_body, _lower(headers), method=method, url=url)

    def check(
        self, raw_body: bytes, headers: Mapping[str, str], *, method: str, url: str | None
    ) -> Verified:
        """Like calling the verifier, with ``headers`` already lower-cased."""
        s = self.secrets
        signature = headers.get("x-hub-signature")
        authorization = headers.get("authorization", "")
        has_jwt = authorization[:4].upper() == "JWT "
        if signature is None and not has_jwt:
            if s.allow_unsigned:
                return Verified("none")
            raise VerificationError(
                "missing_signature",
                "no X-Hub-Signature or 'Authorization: JWT' header: register the webhook "
                "with a secret (or an app), or start the receiver with --allow-unsigned",
            )
        result: Verified | None = None
        if signature is not None:
            if not s.hmac:
                raise VerificationError(
                    "bad_signature", "a signed delivery came, but no HMAC secret is configured"
                )
            result = Verified("hmac", _check_hmac(raw_body, signature, s._hmac_keys))
        if has_jwt:
            if not s.jwt:
                raise VerificationError(
                    "bad_jwt", "a JWT-signed delivery came, but no JWT secret is configured"
                )
            index, claims = _check_jwt(
                authorization, s, method=method, url=url, now=float(self.clock())
            )
            result = result or Verified("jwt", index, claims)
        assert result is not None
        return result


@lru_cache(maxsize=32)
def _verifier(secrets: Secrets) -> Verifier:
    return Verifier(secrets)


def verify(
    raw_body: bytes,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    secrets: Secrets,
    *,
    method: str = "POST",
    url: str | None = None,
) -> Verified:
    """Check one delivery (any web framework): ``raw_body`` exactly as received,
    ``headers`` in any case, ``url`` the request's path and query (for a JWT's ``qsh``).
    Returns how it verified, or raises `VerificationError` (answer 401)."""
    return _verifier(secrets)(raw_body, headers, method=method, url=url)
