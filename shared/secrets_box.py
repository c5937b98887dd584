"""Encryption of stored secrets (webhook secrets), so a database dump does not leak them."""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet


class SecretBox:
    """Fernet over a key derived from the configured secret key."""

    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(secret_key.encode("utf-8")).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, ciphertext: str) -> str:
        return _open_cached(self._fernet, ciphertext)


@functools.lru_cache(maxsize=4096)
def _open_cached(fernet: Fernet, ciphertext: str) -> str:
    """Keyed by ciphertext, so a rotated secret (new ciphertext) is never served stale."""
    return fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
