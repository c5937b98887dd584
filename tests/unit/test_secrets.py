"""SecretBox: stored webhook secrets are sealed with keys derived from the secret key list;
the first key seals, every key opens."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.fernet import Fernet

from shared.platform.secrets_box import CannotOpen, SecretBox


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
    with pytest.raises(CannotOpen):
        SecretBox("key-two").open(sealed)


def test_a_tampered_ciphertext_cannot_be_opened() -> None:
    box = SecretBox("key-one")
    sealed = box.seal("whsec_abc123")
    tampered = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
    with pytest.raises(CannotOpen):
        box.open(tampered)


def sealed_as_before_key_lists(key: str, plaintext: str) -> str:
    """What the single-key box stored: Fernet over sha256 of the key string."""
    fernet_key = base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest())
    return Fernet(fernet_key).encrypt(plaintext.encode()).decode()


def test_a_secret_sealed_before_key_lists_opens_with_the_same_key_string() -> None:
    stored = sealed_as_before_key_lists("key-one", "whsec_abc123")
    assert SecretBox("key-one").open(stored) == "whsec_abc123"


def test_an_old_key_second_in_the_list_still_opens_what_it_sealed() -> None:
    stored = SecretBox("old").seal("whsec_abc123")
    assert SecretBox("new", "old").open(stored) == "whsec_abc123"


def test_new_secrets_are_sealed_with_the_first_key() -> None:
    sealed = SecretBox("new", "old").seal("whsec_abc123")
    assert SecretBox("new").open(sealed) == "whsec_abc123"
    with pytest.raises(CannotOpen):
        SecretBox("old").open(sealed)


def test_reseal_moves_a_secret_onto_the_first_key() -> None:
    stored = SecretBox("old").seal("whsec_abc123")
    resealed = SecretBox("new", "old").reseal(stored)
    assert SecretBox("new").open(resealed) == "whsec_abc123"
    with pytest.raises(CannotOpen):
        SecretBox("old").open(resealed)


def test_resealing_twice_is_harmless() -> None:
    box = SecretBox("new", "old")
    twice = box.reseal(box.reseal(SecretBox("old").seal("whsec_abc123")))
    assert SecretBox("new").open(twice) == "whsec_abc123"


def test_a_secret_no_listed_key_opens_cannot_be_opened_or_resealed() -> None:
    stored = SecretBox("gone").seal("whsec_abc123")
    box = SecretBox("new", "old")
    with pytest.raises(CannotOpen):
        box.open(stored)
    with pytest.raises(CannotOpen):
        box.reseal(stored)


def test_a_box_needs_at_least_one_key() -> None:
    with pytest.raises(ValueError):
        SecretBox()
