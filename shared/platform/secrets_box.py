"""Encryption of stored secrets (webhook secrets), so a database dump does not leak them.

Several keys make rotation possible without downtime: the first key seals, every key
opens, and `reseal` moves a stored secret onto the first key.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class CannotOpen(Exception):
    """No configured key opens this ciphertext: it was sealed with a key that is no
    longer configured (or it was damaged)."""


class SecretBox:
    """MultiFernet over keys derived from the configured key strings, newest first."""

    def __init__(self, *keys: str) -> None:
        if not keys:
            raise ValueError("SecretBox needs at least one key")
        self._fernet = MultiFernet([_fernet(key) for key in keys])

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, ciphertext: str) -> str:
        try:
            return _open_cached(self._fernet, ciphertext)
        except InvalidToken:
            raise CannotOpen from None

    def reseal(self, ciphertext: str) -> str:
        """The same secret sealed with the first key, whichever key sealed it."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise CannotOpen from None


def _fernet(key: str) -> Fernet:
    """The derivation every stored secret was sealed with: sha256 of the key string."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


@functools.lru_cache(maxsize=4096)
def _open_cached(fernet: MultiFernet, ciphertext: str) -> str:
    """Keyed by ciphertext, so a rotated secret (new ciphertext) is never served stale."""
    return fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
