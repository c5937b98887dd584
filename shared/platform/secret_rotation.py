"""Key rotation for stored secrets: re-seal them with the first configured key, so
that the old key can then be dropped from ROUTINES_SECRET_KEY."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from shared.models import Secret
from shared.platform.secrets_box import CannotOpen, SecretBox


@dataclass(frozen=True)
class ResealedPage:
    resealed: int
    #: Sealed with a key that is not configured; left as they are.
    unopenable: int
    #: Keyset cursor for the next page; None once there are no more secrets.
    last_id: uuid.UUID | None


def reseal_page(
    session: Session, *, box: SecretBox, after: uuid.UUID | None, limit: int
) -> ResealedPage:
    """Re-seal the next `limit` secrets in id order. Each row is written only if it still
    holds what was read (compare-and-set), so a concurrent change is never overwritten."""
    query = select(Secret.id, Secret.ciphertext).order_by(Secret.id).limit(limit)
    rows = session.execute(query if after is None else query.where(Secret.id > after)).all()
    changes: list[dict[str, object]] = []
    for secret_id, seen in rows:
        with contextlib.suppress(CannotOpen):
            changes.append({"b_id": secret_id, "b_seen": seen, "b_new": box.reseal(seen)})
    unopenable = len(rows) - len(changes)
    # Core executemany through the connection: the ORM's bulk update by primary key
    # would drop the compare-and-set condition.
    written = session.connection().execute(_COMPARE_AND_SET, changes).rowcount if changes else 0
    return ResealedPage(written, unopenable, rows[-1][0] if rows else None)


_COMPARE_AND_SET = (
    update(Secret)
    .where(Secret.id == bindparam("b_id"), Secret.ciphertext == bindparam("b_seen"))
    .values(ciphertext=bindparam("b_new"))
)
