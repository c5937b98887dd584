"""Authorization rules, with hand-built principals and unsaved routines."""

from __future__ import annotations

import uuid

import pytest

from shared.contract.errors import Forbidden, NotFound
from shared.models import Routine
from shared.tenancy.access import (
    may_assign_run,
    may_create_routine,
    may_manage_routine,
    may_update_routine,
    require_admin,
    require_board,
    require_company_path,
    require_permission,
    require_visible,
    sees_company,
    visible_company_ids,
)
from shared.tenancy.auth import ADMIN, Principal

HOME = uuid.UUID("00000000-0000-4000-8000-000000000001")
OTHER = uuid.UUID("00000000-0000-4000-8000-000000000002")
BOT = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
OTHER_BOT = uuid.UUID("00000000-0000-4000-8000-0000000000a2")
USER = uuid.UUID("00000000-0000-4000-8000-0000000000b1")

AGENT = Principal(kind="agent", agent_id=BOT, company_id=HOME)
ASSIGNER = Principal(kind="board", user_id=USER, memberships={HOME: frozenset({"tasks:assign"})})
MEMBER = Principal(kind="board", user_id=USER, memberships={HOME: frozenset()})
OUTSIDER = Principal(kind="board", user_id=USER, memberships={OTHER: frozenset({"tasks:assign"})})


def routine(assignee: uuid.UUID | None = BOT, company: uuid.UUID = HOME) -> Routine:
    return Routine(company_id=company, assignee_agent_id=assignee, title="Daily")


def forbidden(call: object, *args: object, **kwargs: object) -> str:
    assert callable(call)
    with pytest.raises(Forbidden) as caught:
        call(*args, **kwargs)
    return caught.value.message


# seeing companies


def test_the_admin_sees_every_company() -> None:
    assert sees_company(ADMIN, HOME)
    assert sees_company(ADMIN, uuid.uuid4())
    assert visible_company_ids(ADMIN) is None


def test_an_agent_sees_only_its_own_company() -> None:
    assert sees_company(AGENT, HOME)
    assert not sees_company(AGENT, OTHER)
    assert visible_company_ids(AGENT) == {HOME}


def test_an_agent_without_a_company_sees_none() -> None:
    orphan = Principal(kind="agent", agent_id=BOT)
    assert visible_company_ids(orphan) == set()
    assert not sees_company(orphan, HOME)


def test_a_board_user_sees_the_companies_they_are_a_member_of() -> None:
    assert sees_company(MEMBER, HOME)
    assert not sees_company(MEMBER, OTHER)
    assert visible_company_ids(OUTSIDER) == {OTHER}


def test_a_board_user_with_no_memberships_sees_nothing() -> None:
    loner = Principal(kind="board", user_id=USER)
    assert not sees_company(loner, HOME)
    assert visible_company_ids(loner) == set()


# company ids in the path


def test_a_company_path_is_open_to_those_who_see_the_company() -> None:
    require_company_path(ADMIN, OTHER)
    require_company_path(AGENT, HOME)
    require_company_path(MEMBER, HOME)


def test_an_agent_is_refused_another_companys_path() -> None:
    message = forbidden(require_company_path, AGENT, OTHER)
    assert message == "Agent key cannot access another company"


def test_a_board_user_is_refused_a_company_path_they_are_not_a_member_of() -> None:
    message = forbidden(require_company_path, MEMBER, OTHER)
    assert message == "User does not have access to this company"


def test_another_companys_resource_does_not_exist_for_you() -> None:
    with pytest.raises(NotFound) as caught:
        require_visible(AGENT, OTHER, "Routine not found")
    assert caught.value.message == "Routine not found"
    with pytest.raises(NotFound):
        require_visible(MEMBER, OTHER, "Routine not found")


def test_a_visible_resource_passes() -> None:
    require_visible(AGENT, HOME, "Routine not found")
    require_visible(ADMIN, OTHER, "Routine not found")


# roles


def test_only_the_admin_passes_require_admin() -> None:
    require_admin(ADMIN)
    assert forbidden(require_admin, ASSIGNER) == "Instance admin required"
    assert forbidden(require_admin, AGENT) == "Instance admin required"


def test_agents_are_refused_board_actions() -> None:
    require_board(MEMBER, "create agents")
    require_board(ADMIN, "create agents")
    assert forbidden(require_board, AGENT, "create agents") == "Agents cannot create agents"


def test_a_permission_is_checked_per_company_for_board_users() -> None:
    require_permission(ASSIGNER, HOME, "tasks:assign")
    assert forbidden(require_permission, MEMBER, HOME, "tasks:assign") == (
        "Missing permission: tasks:assign"
    )
    assert forbidden(require_permission, ASSIGNER, OTHER, "tasks:assign") == (
        "Missing permission: tasks:assign"
    )


def test_permissions_do_not_apply_to_the_admin_or_agents() -> None:
    require_permission(ADMIN, HOME, "tasks:assign")
    require_permission(AGENT, HOME, "tasks:assign")


# creating routines


def test_an_agent_may_create_a_routine_assigned_to_itself() -> None:
    may_create_routine(AGENT, HOME, BOT)


@pytest.mark.parametrize("assignee", [OTHER_BOT, None])
def test_an_agent_may_not_create_a_routine_for_anyone_else(assignee: uuid.UUID | None) -> None:
    message = forbidden(may_create_routine, AGENT, HOME, assignee)
    assert message == "Agents can only manage routines assigned to themselves"


def test_an_agent_may_only_name_itself_as_a_runs_assignee() -> None:
    may_assign_run(AGENT, BOT)
    may_assign_run(AGENT, None)
    assert forbidden(may_assign_run, AGENT, OTHER_BOT) == (
        "Agents can only assign routines to themselves"
    )


def test_board_users_and_the_admin_may_name_any_runs_assignee() -> None:
    may_assign_run(ASSIGNER, OTHER_BOT)
    may_assign_run(ADMIN, OTHER_BOT)


def test_a_member_with_tasks_assign_may_create_a_routine_for_any_agent() -> None:
    may_create_routine(ASSIGNER, HOME, OTHER_BOT)
    may_create_routine(ASSIGNER, HOME, None)


def test_a_member_without_tasks_assign_may_not_create_a_routine() -> None:
    message = forbidden(may_create_routine, MEMBER, HOME, BOT)
    assert message == "Missing permission: tasks:assign"


def test_the_admin_may_create_any_routine() -> None:
    may_create_routine(ADMIN, OTHER, OTHER_BOT)


# managing routines


def test_an_agent_may_manage_its_own_routine() -> None:
    may_manage_routine(AGENT, routine(BOT), assigns=True)


@pytest.mark.parametrize("assignee", [OTHER_BOT, None])
def test_an_agent_may_not_manage_a_routine_assigned_elsewhere(assignee: uuid.UUID | None) -> None:
    message = forbidden(may_manage_routine, AGENT, routine(assignee), assigns=False)
    assert message == "Agents can only manage routines assigned to themselves"


def test_a_member_without_tasks_assign_may_manage_when_nothing_is_assigned() -> None:
    may_manage_routine(MEMBER, routine(OTHER_BOT), assigns=False)


def test_a_member_without_tasks_assign_may_not_do_what_assigns_work() -> None:
    message = forbidden(may_manage_routine, MEMBER, routine(OTHER_BOT), assigns=True)
    assert message == "Missing permission: tasks:assign"


def test_a_member_with_tasks_assign_may_do_what_assigns_work() -> None:
    may_manage_routine(ASSIGNER, routine(OTHER_BOT), assigns=True)


def test_the_permission_is_taken_from_the_routines_company() -> None:
    message = forbidden(may_manage_routine, ASSIGNER, routine(BOT, OTHER), assigns=True)
    assert message == "Missing permission: tasks:assign"


# updating routines


def update(principal: Principal, target: Routine, **changes: object) -> None:
    options: dict[str, object] = {
        "new_assignee": target.assignee_agent_id,
        "reassigns": False,
        "activates": False,
    }
    options.update(changes)
    may_update_routine(principal, target, **options)  # type: ignore[arg-type]


def test_an_agent_may_edit_its_own_routine() -> None:
    update(AGENT, routine(BOT))


def test_an_agent_may_reactivate_its_own_routine() -> None:
    update(AGENT, routine(BOT), activates=True)


def test_an_agent_may_not_reassign_its_routine_to_another_agent() -> None:
    message = forbidden(update, AGENT, routine(BOT), new_assignee=OTHER_BOT, reassigns=True)
    assert message == "Agents can only assign routines to themselves"


def test_an_agent_may_not_unassign_its_routine() -> None:
    message = forbidden(update, AGENT, routine(BOT), new_assignee=None, reassigns=True)
    assert message == "Agents can only assign routines to themselves"


def test_an_agent_may_not_take_over_another_agents_routine() -> None:
    message = forbidden(update, AGENT, routine(OTHER_BOT), new_assignee=BOT, reassigns=True)
    assert message == "Agents can only manage routines assigned to themselves"


def test_a_member_without_tasks_assign_may_edit_the_title() -> None:
    update(MEMBER, routine(BOT))


def test_a_member_without_tasks_assign_may_not_reassign() -> None:
    message = forbidden(update, MEMBER, routine(BOT), new_assignee=OTHER_BOT, reassigns=True)
    assert message == "Missing permission: tasks:assign"


def test_a_member_without_tasks_assign_may_not_activate() -> None:
    message = forbidden(update, MEMBER, routine(BOT), activates=True)
    assert message == "Missing permission: tasks:assign"


def test_a_member_with_tasks_assign_may_reassign_and_activate() -> None:
    update(ASSIGNER, routine(BOT), new_assignee=OTHER_BOT, reassigns=True, activates=True)


def test_the_admin_may_reassign_anything() -> None:
    update(ADMIN, routine(BOT, OTHER), new_assignee=None, reassigns=True, activates=True)
