"""Every request body of the API, declared once (validation and OpenAPI read these)."""

from __future__ import annotations

from shared.contract import vocabulary as v
from shared.contract.validation import Field, Schema, patch_of

_ID = Field("uuid", nullable=True)

COMPANY_CREATE = Schema(
    "CompanyCreate",
    {
        "name": Field("string", required=True, trim=True, min_length=1, max_length=200),
        "issuePrefix": Field("string", trim=True, min_length=1, max_length=10),
    },
)
BOARD_USER_CREATE = Schema(
    "BoardUserCreate",
    {"name": Field("string", required=True, trim=True, min_length=1, max_length=200)},
)
MEMBER_CREATE = Schema(
    "MemberCreate",
    {
        "userId": Field("uuid", required=True),
        "permissions": Field("array", items=Field("enum", choices=v.PERMISSIONS), default=[]),
    },
)
AGENT_CREATE = Schema(
    "AgentCreate",
    {
        "name": Field("string", required=True, trim=True, min_length=1, max_length=200),
        "role": Field("string", nullable=True, max_length=100),
        "title": Field("string", nullable=True, max_length=200),
        "status": Field("enum", choices=v.AGENT_STATUSES, default="active"),
    },
)
AGENT_PATCH = patch_of(AGENT_CREATE, "AgentPatch")
AGENT_KEY_CREATE = Schema(
    "AgentKeyCreate",
    {"name": Field("string", required=True, trim=True, min_length=1, max_length=200)},
)
PROJECT_CREATE = Schema(
    "ProjectCreate",
    {
        "name": Field("string", required=True, trim=True, min_length=1, max_length=200),
        "description": Field("string", nullable=True),
        "status": Field("string", max_length=32, default="active"),
    },
)
PROJECT_PATCH = patch_of(PROJECT_CREATE, "ProjectPatch")
PROJECT_PAUSE = Schema("ProjectPause", {"reason": Field("string", nullable=True, max_length=500)})
GOAL_CREATE = Schema(
    "GoalCreate",
    {
        "title": Field("string", required=True, trim=True, min_length=1, max_length=200),
        "description": Field("string", nullable=True),
    },
)
ISSUE_CREATE = Schema(
    "IssueCreate",
    {
        "title": Field("string", required=True, trim=True, min_length=1, max_length=500),
        "description": Field("string", nullable=True),
        "status": Field("enum", choices=v.ISSUE_STATUSES, default="todo"),
        "priority": Field("enum", choices=v.PRIORITIES, default="medium"),
        "assigneeAgentId": _ID,
        "projectId": _ID,
        "goalId": _ID,
        "parentId": _ID,
    },
)
ISSUE_PATCH = patch_of(ISSUE_CREATE, "IssuePatch", without=("projectId", "goalId", "parentId"))
ROUTINE_CREATE = Schema(
    "RoutineCreate",
    {
        "title": Field("string", required=True, trim=True, min_length=1, max_length=200),
        "description": Field("string", nullable=True, default=None),
        "assigneeAgentId": Field("uuid", nullable=True, default=None),
        "projectId": Field("uuid", nullable=True, default=None),
        "goalId": Field("uuid", nullable=True, default=None),
        "parentIssueId": Field("uuid", nullable=True, default=None),
        "priority": Field("enum", choices=v.PRIORITIES, default="medium"),
        "status": Field("enum", choices=v.ROUTINE_STATUSES, default="active"),
        "concurrencyPolicy": Field(
            "enum", choices=v.CONCURRENCY_POLICIES, default="coalesce_if_active"
        ),
        "catchUpPolicy": Field("enum", choices=v.CATCH_UP_POLICIES, default="skip_missed"),
        "variables": Field("array", items=Field("object"), max_length=100, default=[]),
    },
)
ROUTINE_PATCH = patch_of(ROUTINE_CREATE, "RoutinePatch")
TRIGGER_CREATE = Schema(
    "TriggerCreate",
    {
        "kind": Field("enum", choices=v.TRIGGER_KINDS, required=True),
        "label": Field("string", nullable=True, max_length=120, default=None),
        "enabled": Field("boolean", default=True),
        "cronExpression": Field("string", max_length=200),
        "timezone": Field("string", max_length=64, default="UTC"),
        "signingMode": Field("enum", choices=v.SIGNING_MODES, default="bearer"),
        "replayWindowSec": Field("integer", minimum=30, maximum=86400, default=300),
    },
)
TRIGGER_PATCH = patch_of(TRIGGER_CREATE, "TriggerPatch", without=("kind",))
RUN_CREATE = Schema(
    "RunCreate",
    {
        "source": Field("enum", choices=("manual", "api"), default="manual"),
        "triggerId": _ID,
        "payload": Field("object", nullable=True),
        "variables": Field("object", nullable=True),
        "projectId": _ID,
        "assigneeAgentId": _ID,
        "idempotencyKey": Field("string", nullable=True, max_length=255),
        "executionWorkspaceId": Field("string", nullable=True, max_length=255),
        "executionWorkspacePreference": Field("string", nullable=True, max_length=255),
        "executionWorkspaceSettings": Field("object", nullable=True),
    },
    strict=True,
)
