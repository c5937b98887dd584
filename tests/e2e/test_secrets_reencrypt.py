"""`routines secrets re-encrypt`, the middle step of a key rotation, run as the real
command against a real database: afterwards the old key can leave ROUTINES_SECRET_KEY."""

from __future__ import annotations

import os
import subprocess

from sqlalchemy import select

from devstack.processes import BIN, ROOT
from shared.models import Secret
from shared.platform.runtime import Runtime
from tests.conftest import SECRET_KEY
from tests.support.keys import api_with_keys, fire_hook, make_hook

KEY_A = SECRET_KEY
KEY_B = "key-b"


def reencrypt(database_url: str, keys: str) -> subprocess.CompletedProcess[str]:
    unrelated = {k: v for k, v in os.environ.items() if not k.startswith("ROUTINES_")}
    env = {**unrelated, "DATABASE_URL": database_url, "ROUTINES_SECRET_KEY": keys}
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [str(BIN / "routines"), "secrets", "re-encrypt"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_after_reencrypting_every_secret_opens_with_the_new_key_alone(
    runtime: Runtime, pg_url: str
) -> None:
    hooks = [make_hook(api_with_keys(runtime, KEY_A)) for _ in range(2)]

    done = reencrypt(pg_url, f"{KEY_B},{KEY_A}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "re-encrypted with the first key: 2; opened by no key: 0"
    new_key_only = api_with_keys(runtime, KEY_B)
    assert [fire_hook(new_key_only, hook).status for hook in hooks] == [202, 202]

    again = reencrypt(pg_url, f"{KEY_B},{KEY_A}")
    assert again.returncode == 0, again.stderr
    assert [fire_hook(new_key_only, hook).status for hook in hooks] == [202, 202]


def test_secrets_no_key_opens_are_left_untouched_and_counted_in_a_failure(
    runtime: Runtime, pg_url: str
) -> None:
    make_hook(api_with_keys(runtime, KEY_A))
    make_hook(api_with_keys(runtime, "key-nobody-has"))
    with runtime.sessions() as session:
        before = set(session.scalars(select(Secret.ciphertext)))

    done = reencrypt(pg_url, f"{KEY_B},{KEY_A}")
    assert done.returncode == 1
    assert done.stdout.strip() == "re-encrypted with the first key: 1; opened by no key: 1"
    assert done.stderr.startswith("routines secrets: 1 stored secret(s) could not be opened")
    with runtime.sessions() as session:
        after = set(session.scalars(select(Secret.ciphertext)))
    assert len(before & after) == 1


def test_reencrypt_refuses_to_start_without_a_key(pg_url: str) -> None:
    done = reencrypt(pg_url, "")
    assert done.returncode == 2
    assert done.stderr.startswith("routines secrets: ROUTINES_SECRET_KEY is not set;")
