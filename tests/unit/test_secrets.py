"""SecretBox: stored webhook secrets are sealed with a key derived from the secret key."""

from __future__ import annotations

import pytest
from cryptography.fernet import InvalidToken

from shared.secrets_box import SecretBox


def test_a_sealed_secret_opens_to_the_same_text() -> None:
    box = SecretBox("key-one")
    assert box.open(box.seal("whsec_abc123")) == "whsec_abc123"


def test_a_round_trip_keeps_non_ascii_and_empty_text() -> None:
    box = SecretBox("key-one")
    for text in ("", "pässwörd ✓", "x" * 5000):
        assert box.open(box.seal(text)) == text


def test_the_ciphertext_does_not_contain_the_plaintext() -> None:
    sealed = SecretBox("key-one").seal("whsec_plainly_visible")
    assert "whsec_plainly_visible" not in sealed
    assert "plainly" not in sealed


def test_sealing_twice_gives_different_ciphertexts() -> None:
    box = SecretBox("key-one")
    assert box.seal("same") != box.seal("same")


def test_another_box_with_the_same_key_can_open_it() -> None:
    assert SecretBox("key-one").open(SecretBox("key-one").seal("shared")) == "shared"


def test_a_different_key_cannot_open_it() -> None:
    sealed = SecretBox("key-one").seal("whsec_abc123")
    with pytest.raises(InvalidToken):
        SecretBox("key-two").open(sealed)


def test_a_tampered_ciphertext_cannot_be_opened() -> None:
    box = SecretBox("key-one")
    sealed = box.seal("whsec_abc123")
    tampered = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
    with pytest.raises(InvalidToken):
        box.open(tampered)
