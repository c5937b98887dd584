"""Key rotation for stored webhook secrets, on real PostgreSQL: a secret sealed with a key
that is no longer configured is a 503 naming the setting, and listing the old key again
opens it."""

from __future__ import annotations

import logging

import pytest

from shared.runtime import Runtime
from tests.conftest import SECRET_KEY
from tests.support.keys import api_with_keys, fire_hook, make_hook

KEY_A = SECRET_KEY
KEY_B = "key-b"
KEY_MISSING = (
    "Webhook secret cannot be decrypted: "
    "ROUTINES_SECRET_KEY does not hold the key it was sealed with"
)


def test_a_secret_sealed_with_a_dropped_key_answers_503_until_the_key_is_listed_again(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    hook = make_hook(api_with_keys(runtime, KEY_A))

    with caplog.at_level(logging.WARNING, logger="shared.services.webhooks"):
        refused = fire_hook(api_with_keys(runtime, KEY_B), hook)
    assert (refused.status, refused.body) == (503, {"error": KEY_MISSING})
    warnings = [r for r in caplog.records if r.name == "shared.services.webhooks"]
    assert [r.levelname for r in warnings] == ["WARNING"]

    accepted = fire_hook(api_with_keys(runtime, f"{KEY_B},{KEY_A}"), hook)
    assert accepted.status == 202, accepted.body


def test_triggers_created_during_a_rotation_are_sealed_with_the_new_key(
    runtime: Runtime,
) -> None:
    hook = make_hook(api_with_keys(runtime, f"{KEY_B},{KEY_A}"))
    assert fire_hook(api_with_keys(runtime, KEY_B), hook).status == 202
