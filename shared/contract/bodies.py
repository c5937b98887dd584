"""Every request body of the API, declared once as a pydantic model: views parse a body
into one of these and hand it to a use case as its typed command; the OpenAPI document
is generated from the same models.

Attributes are snake_case, keys on the wire camelCase. A field left out is None; in a
PATCH body "left out" means "unchanged", told apart from an explicit null by
`model_fields_set`."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from pydantic.alias_generators import to_camel
from typing_extensions import TypeAliasType

from shared.contract.fields import (
    ANY_TEXT,
    INTEGRAL,
    NO_NUL,
    NONBLANK_TEXT,
    STORABLE,
    TRIMMED,
    Boolean,
    Documented,
    Instant,
    JsonObject,
    Nullable,
    Omittable,
    Uuid,
)
from shared.contract.vocabulary import (
    AgentStatus,
    CallerRunSource,
    CatchUpPolicy,
    ConcurrencyPolicy,
    IssueStatus,
    Permission,
    Priority,
    RoutineStatus,
    SigningMode,
    TriggerKind,
)
from shared.routines.variables import definition_schema

Text = Annotated[StrictStr, STORABLE, ANY_TEXT]
Title = Annotated[StrictStr, Field(min_length=1, max_length=200), TRIMMED, NONBLANK_TEXT]
IssueTitle = Annotated[StrictStr, Field(min_length=1, max_length=500), TRIMMED, NONBLANK_TEXT]
#: The prefix keeps only ASCII letters and digits (shared.tenancy.companies), so it needs one.
IssuePrefix = Annotated[
    StrictStr,
    Field(min_length=1, max_length=10),
    TRIMMED,
    Documented({"pattern": r"^[^\u0000]*[A-Za-z0-9][^\u0000]*$"}),
]
Role = Annotated[StrictStr, Field(max_length=100), STORABLE, ANY_TEXT]
AgentTitle = Annotated[StrictStr, Field(max_length=200), STORABLE, ANY_TEXT]
ProjectStatus = Annotated[StrictStr, Field(max_length=32), STORABLE, ANY_TEXT]
PauseReason = Annotated[StrictStr, Field(max_length=500), STORABLE, ANY_TEXT]
Label = Annotated[StrictStr, Field(max_length=120), STORABLE, ANY_TEXT]
CronExpression = Annotated[StrictStr, Field(max_length=200), STORABLE, ANY_TEXT]
Timezone = Annotated[StrictStr, Field(max_length=64), STORABLE, ANY_TEXT]
Key = Annotated[StrictStr, Field(max_length=255), STORABLE, ANY_TEXT]
ReplayWindow = Annotated[int, Field(ge=30, le=86400), INTEGRAL]
GraceSeconds = Annotated[int, Field(ge=0, le=86400), INTEGRAL]
#: Each item is checked by shared.routines.variables, whose rules the schema states.
VariableDefinition = TypeAliasType(
    "VariableDefinition", Annotated[JsonObject, Documented(definition_schema())]
)
Variables = Annotated[list[VariableDefinition], Field(max_length=100)]
SCALARS = ["string", "number", "boolean"]
#: A firing's variable values: each a string, number, boolean or null (shared.runs.recording).
VariableValues = Annotated[
    JsonObject,
    Documented(
        {
            "additionalProperties": {
                "type": ["string", "number", "boolean", "null"],
                "pattern": NO_NUL,
            }
        }
    ),
]
#: How many fire times a preview lists.
PreviewCount = Annotated[int, Field(ge=1, le=100), INTEGRAL]


class Body(BaseModel):
    """Lenient: keys it does not declare are ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        frozen=True,
        extra="ignore",
        json_schema_extra={"additionalProperties": True},
    )


class StrictBody(Body):
    """Keys it does not declare are each a problem."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"additionalProperties": False})


class CompanyCreate(Body):
    name: Title
    issue_prefix: Omittable[IssuePrefix] = None


class BoardUserCreate(Body):
    name: Title


class MemberCreate(Body):
    user_id: Uuid
    permissions: list[Permission] = []


class AgentCreate(Body):
    name: Title
    role: Nullable[Role] = None
    title: Nullable[AgentTitle] = None
    status: AgentStatus = "active"


class AgentPatch(Body):
    name: Omittable[Title] = None
    role: Nullable[Role] = None
    title: Nullable[AgentTitle] = None
    status: Omittable[AgentStatus] = None


class AgentKeyCreate(Body):
    name: Title


class ProjectCreate(Body):
    name: Title
    description: Nullable[Text] = None
    status: ProjectStatus = "active"


class ProjectPatch(Body):
    name: Omittable[Title] = None
    description: Nullable[Text] = None
    status: Omittable[ProjectStatus] = None


class ProjectPause(Body):
    reason: Nullable[PauseReason] = None


class GoalCreate(Body):
    title: Title
    description: Nullable[Text] = None


class IssueCreate(Body):
    title: IssueTitle
    description: Nullable[Text] = None
    status: IssueStatus = "todo"
    priority: Priority = "medium"
    assignee_agent_id: Nullable[Uuid] = None
    project_id: Nullable[Uuid] = None
    goal_id: Nullable[Uuid] = None
    parent_id: Nullable[Uuid] = None


class IssuePatch(Body):
    title: Omittable[IssueTitle] = None
    description: Nullable[Text] = None
    status: Omittable[IssueStatus] = None
    priority: Omittable[Priority] = None
    assignee_agent_id: Nullable[Uuid] = None


class RoutineCreate(Body):
    title: Title
    description: Text | None = None
    assignee_agent_id: Uuid | None = None
    project_id: Uuid | None = None
    goal_id: Uuid | None = None
    parent_issue_id: Uuid | None = None
    priority: Priority = "medium"
    status: RoutineStatus = "active"
    concurrency_policy: ConcurrencyPolicy = "coalesce_if_active"
    catch_up_policy: CatchUpPolicy = "skip_missed"
    variables: Variables = []


class RoutinePatch(Body):
    title: Omittable[Title] = None
    description: Nullable[Text] = None
    assignee_agent_id: Nullable[Uuid] = None
    project_id: Nullable[Uuid] = None
    goal_id: Nullable[Uuid] = None
    parent_issue_id: Nullable[Uuid] = None
    priority: Omittable[Priority] = None
    status: Omittable[RoutineStatus] = None
    concurrency_policy: Omittable[ConcurrencyPolicy] = None
    catch_up_policy: Omittable[CatchUpPolicy] = None
    variables: Omittable[Variables] = None


class TriggerCreate(Body):
    """A schedule trigger needs its `cronExpression` (a 400 naming it, as if required)."""

    model_config = ConfigDict(
        json_schema_extra={
            "additionalProperties": True,
            "if": {"properties": {"kind": {"enum": ["schedule"]}}, "required": ["kind"]},
            "then": {"required": ["cronExpression"]},
        }
    )

    kind: TriggerKind
    label: Label | None = None
    enabled: Boolean = True
    cron_expression: Omittable[CronExpression] = None
    timezone: Timezone = "UTC"
    signing_mode: SigningMode = "bearer"
    replay_window_sec: ReplayWindow = 300


class TriggerPatch(Body):
    label: Nullable[Label] = None
    enabled: Omittable[Boolean] = None
    cron_expression: Omittable[CronExpression] = None
    timezone: Omittable[Timezone] = None
    signing_mode: Omittable[SigningMode] = None
    replay_window_sec: Omittable[ReplayWindow] = None


class SecretRotate(Body):
    """How long the secret being replaced keeps verifying; 0, the old one fails at once."""

    grace_seconds: GraceSeconds = 0


class RunCreate(StrictBody):
    source: CallerRunSource = "manual"
    trigger_id: Nullable[Uuid] = None
    payload: Nullable[JsonObject] = None
    variables: Nullable[VariableValues] = None
    project_id: Nullable[Uuid] = None
    assignee_agent_id: Nullable[Uuid] = None
    idempotency_key: Nullable[Key] = None
    execution_workspace_id: Nullable[Key] = None
    execution_workspace_preference: Nullable[Key] = None
    execution_workspace_settings: Nullable[JsonObject] = None


class CronPreview(Body):
    """An expression not saved anywhere, checked as a schedule trigger's would be."""

    cron_expression: CronExpression
    timezone: Timezone = "UTC"
    count: PreviewCount = 10


class Backfill(Body):
    """The range [from, to) whose ticks get a run each; `from` and `to` are the keys."""

    start: Annotated[Instant, Field(alias="from")]
    end: Annotated[Instant, Field(alias="to")]
