"""Key rotation for stored webhook secrets, on real PostgreSQL: a secret sealed with a key
that is no longer configured is a 503 naming the setting, listing the old key again
opens it, and re-sealing moves every secret onto the first key."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import Secret
from shared.platform.runtime import Runtime
from shared.platform.secret_rotation import reseal_page
from shared.platform.secrets_box import CannotOpen, SecretBox
from tests.conftest import SECRET_KEY
from tests.support.keys import api_with_keys, fire_hook, make_hook

KEY_A = SECRET_KEY
KEY_B = "key-b"
KEY_MISSING = (
    "Webhook secret cannot be decrypted: "
    "ROUTINES_SECRET_KEY does not hold the key it was sealed with"
)


def stored(session: Session) -> dict[uuid.UUID, str]:
    return {row.id: row.ciphertext for row in session.execute(select(Secret.id, Secret.ciphertext))}


def test_a_secret_sealed_with_a_dropped_key_answers_503_until_the_key_is_listed_again(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    hook = make_hook(api_with_keys(runtime, KEY_A))

    with caplog.at_level(logging.WARNING, logger="shared.webhooks.public_fire"):
        refused = fire_hook(api_with_keys(runtime, KEY_B), hook)
    assert (refused.status, refused.body) == (503, {"error": KEY_MISSING})
    warnings = [r for r in caplog.records if r.name == "shared.webhooks.public_fire"]
    assert [r.levelname for r in warnings] == ["WARNING"]

    accepted = fire_hook(api_with_keys(runtime, f"{KEY_B},{KEY_A}"), hook)
    assert accepted.status == 202, accepted.body


def test_triggers_created_during_a_rotation_are_sealed_with_the_new_key(
    runtime: Runtime,
) -> None:
    hook = make_hook(api_with_keys(runtime, f"{KEY_B},{KEY_A}"))
    assert fire_hook(api_with_keys(runtime, KEY_B), hook).status == 202


def test_resealing_pages_through_every_secret_and_leaves_the_unopenable_alone(
    runtime: Runtime,
) -> None:
    for keys in (KEY_A, KEY_A, "key-gone"):
        make_hook(api_with_keys(runtime, keys))
    box = SecretBox(KEY_B, KEY_A)
    with runtime.sessions.begin() as session:
        before = stored(session)
        first = reseal_page(session, box=box, after=None, limit=2)
        second = reseal_page(session, box=box, after=first.last_id, limit=2)
        last = reseal_page(session, box=box, after=second.last_id, limit=2)
    assert first.resealed + second.resealed == 2
    assert first.unopenable + second.unopenable == 1
    assert (last.resealed, last.unopenable, last.last_id) == (0, 0, None)

    with runtime.sessions.begin() as session:
        after = stored(session)
    opened, untouched = [], []
    for secret_id, ciphertext in after.items():
        try:
            opened.append(SecretBox(KEY_B).open(ciphertext))
        except CannotOpen:
            untouched.append(ciphertext == before[secret_id])
    assert (len(opened), untouched) == (2, [True])
