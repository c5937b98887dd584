"""Per-request access to the runtime, the caller and a unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g, request
from sqlalchemy.orm import Session

from shared.platform.runtime import Runtime
from shared.tenancy.auth import Principal, authenticate


@dataclass(frozen=True)
class Work:
    session: Session
    principal: Principal


def runtime() -> Runtime:
    return current_app.extensions["routines"]  # type: ignore[no-any-return]


def now() -> datetime:
    return runtime().clock.now()


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


@contextmanager
def transaction() -> Iterator[Session]:
    """A transaction for routes without credentials (the public webhook fire)."""
    with runtime().sessions() as session, session.begin():
        yield session


@contextmanager
def work() -> Iterator[Work]:
    """Authenticate, then run the view body in one transaction that commits on success."""
    with transaction() as session:
        principal = authenticate(
            session, token=bearer_token(), admin_token=runtime().settings.admin_token
        )
        g.principal = principal
        yield Work(session=session, principal=principal)
