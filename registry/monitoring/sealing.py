"""Webhook secrets at rest: sealed with Fernet (AES-128-CBC and HMAC-SHA256) under the keys of
``ACCORD_SECRET_KEY``.

A webhook's secret signs what Accord sends, so the registry needs it back in the clear; a
hash would not do. Sealing keeps a copy of the database (a backup, a replica, a dump) from
being enough to forge deliveries. The first key seals; every key unseals, so keys rotate
by putting the new one first and running ``accord db reseal`` (``accord serve`` does it at
start-up). With no key, secrets are stored as given, and ``accord serve`` says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["SecretSealer", "UnsealError", "new_key"]


class UnsealError(Exception):
    """A sealed secret that none of the configured keys opens."""


def new_key() -> str:
    """A new random key for ``ACCORD_SECRET_KEY``."""
    return Fernet.generate_key().decode()


class SecretSealer:
    """Seals and unseals secrets with the configured keys (none: they stay as they are)."""

    def __init__(self, keys: Sequence[str] = ()) -> None:
        self._primary = Fernet(keys[0]) if keys else None
        self._all = MultiFernet([Fernet(k) for k in keys]) if keys else None

    @property
    def enabled(self) -> bool:
        return self._primary is not None

    def seal(self, secret: str) -> tuple[str, bool]:
        """What to store for `secret`, and whether that is sealed."""
        if self._primary is None:
            return secret, False
        return self._primary.encrypt(secret.encode()).decode(), True

    def unseal(self, stored: str, sealed: bool) -> str:
        """The secret stored as `stored`; UnsealError if it is sealed and no key opens it."""
        if not sealed:
            return stored
        if self._all is None:
            raise UnsealError("the secret is sealed and ACCORD_SECRET_KEY is not set")
        try:
            return self._all.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise UnsealError("the secret was sealed with a key not in ACCORD_SECRET_KEY") from None

    def needs_reseal(self, stored: str, sealed: bool) -> bool:
        """Whether `stored` is not yet sealed with the first key (always False with no key)."""
        if self._primary is None:
            return False
        if not sealed:
            return True
        try:
            self._primary.decrypt(stored.encode())
        except InvalidToken:
            return True
        return False
