"""Authorization rules of API.md section 8, in one place."""

from __future__ import annotations

import uuid

from shared.contract.errors import Forbidden, NotFound
from shared.models import Routine
from shared.tenancy.auth import Principal

ASSIGN = "tasks:assign"
NOT_OWN_ROUTINE = "Agents can only manage routines assigned to themselves"
ASSIGN_SELF_ONLY = "Agents can only assign routines to themselves"


def sees_company(principal: Principal, company_id: uuid.UUID) -> bool:
    if principal.is_admin:
        return True
    if principal.kind == "agent":
        return principal.company_id == company_id
    return company_id in principal.memberships


def visible_company_ids(principal: Principal) -> set[uuid.UUID] | None:
    """None means every company (the admin)."""
    if principal.is_admin:
        return None
    if principal.kind == "agent":
        return {principal.company_id} if principal.company_id else set()
    return set(principal.memberships)


def require_company_path(principal: Principal, company_id: uuid.UUID) -> None:
    """A company id in the path: outsiders get 403 whether or not the company exists."""
    if sees_company(principal, company_id):
        return
    if principal.kind == "agent":
        raise Forbidden("Agent key cannot access another company")
    raise Forbidden("User does not have access to this company")


def require_visible(principal: Principal, company_id: uuid.UUID, not_found: str) -> None:
    """A resource id in the path: another company's resource does not exist for you."""
    if not sees_company(principal, company_id):
        raise NotFound(not_found)


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Instance admin required")


def require_board(principal: Principal, action: str) -> None:
    if principal.kind == "agent":
        raise Forbidden(f"Agents cannot {action}")


def require_permission(principal: Principal, company_id: uuid.UUID, permission: str) -> None:
    if principal.kind == "board" and permission not in principal.memberships.get(
        company_id, frozenset()
    ):
        raise Forbidden(f"Missing permission: {permission}")


def may_create_routine(
    principal: Principal, company_id: uuid.UUID, assignee: uuid.UUID | None
) -> None:
    """An agent may only create what it would then own (API.md 8: "own" means assigned
    to it), so a routine for another agent, or for nobody, is not its own."""
    if principal.kind == "agent" and assignee != principal.agent_id:
        raise Forbidden(NOT_OWN_ROUTINE)
    require_permission(principal, company_id, ASSIGN)


def may_manage_routine(principal: Principal, routine: Routine, *, assigns: bool) -> None:
    """Triggers, runs and updates: agents only on their own, members with tasks:assign
    when the action assigns work."""
    if principal.kind == "agent" and routine.assignee_agent_id != principal.agent_id:
        raise Forbidden(NOT_OWN_ROUTINE)
    if assigns:
        require_permission(principal, routine.company_id, ASSIGN)


def may_assign_run(principal: Principal, assignee: uuid.UUID | None) -> None:
    """A manual run's assignee override hands work to an agent: an agent may only hand
    it to itself, as with the routine's own assignee."""
    if principal.kind == "agent" and assignee is not None and assignee != principal.agent_id:
        raise Forbidden(ASSIGN_SELF_ONLY)


def may_update_routine(
    principal: Principal,
    routine: Routine,
    *,
    new_assignee: uuid.UUID | None,
    reassigns: bool,
    activates: bool,
) -> None:
    may_manage_routine(principal, routine, assigns=reassigns or activates)
    if principal.kind == "agent" and reassigns and new_assignee != principal.agent_id:
        raise Forbidden(ASSIGN_SELF_ONLY)
