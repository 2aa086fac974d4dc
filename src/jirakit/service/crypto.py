"""Secrets at rest: credentials under `MultiFernet` (newest key encrypts, every key
decrypts, `Vault.rotate` re-encrypts under the newest), tenant API keys stored as a hash.

API keys are 32 random bytes, so a plain SHA-256 is the right hash (as GitHub and Stripe
do for tokens): there is nothing to brute-force, and a lookup stays one indexed query.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from jirakit.errors import ConfigurationError

API_KEY_PREFIX = "jk_"
WEBHOOK_SECRET_PREFIX = "whsec_"


class Vault:
    """Encrypts and decrypts JSON credential blobs."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ConfigurationError("no encryption key configured (JIRAKIT_ENCRYPTION_KEYS)")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        except (ValueError, TypeError):
            raise ConfigurationError(
                "JIRAKIT_ENCRYPTION_KEYS must be comma-separated Fernet keys "
                "(32 url-safe base64-encoded bytes; `jirakit keys generate` makes one)"
            ) from None

    def encrypt(self, data: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(data, sort_keys=True).encode()).decode("ascii")

    def decrypt(self, blob: str) -> dict[str, Any]:
        try:
            data = json.loads(self._fernet.decrypt(blob.encode("ascii")))
        except InvalidToken:
            raise ConfigurationError(
                "stored credentials cannot be decrypted with the configured keys; keep the "
                "old key in JIRAKIT_ENCRYPTION_KEYS until `jirakit keys rotate` has run"
            ) from None
        if not isinstance(data, dict):
            raise ConfigurationError("stored credentials are not a JSON object")
        return data

    def rotate(self, blob: str) -> str:
        """The same secret, encrypted under the newest key."""
        try:
            return self._fernet.rotate(blob.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise ConfigurationError(
                "a stored secret cannot be decrypted with any configured key"
            ) from None


def generate_key() -> str:
    """A new Fernet key for JIRAKIT_ENCRYPTION_KEYS."""
    return Fernet.generate_key().decode("ascii")


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def keys_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 24 random bytes."""
    import base64

    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")
