"""OpenAPI `links`: from each operation that creates something to the operations that use
the id it returns, so that stateful tools (schemathesis, generated clients) can chain
"create a company, a routine in it, a trigger on it, fire it, read the run"."""

from __future__ import annotations

from typing import Any

_UUID = {"type": "string", "format": "uuid"}


def _object(**properties: Any) -> dict[str, Any]:
    """A response object that has at least these keys (it has more; they are not listed)."""
    return {"type": "object", "required": list(properties), "properties": properties}


_OWNED = _object(id=_UUID, companyId=_UUID)
_TRIGGER = _object(id=_UUID, routineId=_UUID, publicId={"type": ["string", "null"]})
_WITH_SECRET = _object(trigger=_TRIGGER, secretMaterial={"type": ["object", "null"]})
_RUN = _object(id=_UUID, routineId=_UUID)

#: The success body of each creating endpoint, as far as the links read it.
RESPONSES: dict[str, dict[str, Any]] = {
    "companies.create": _object(id=_UUID),
    "agents.create": _OWNED,
    "projects.create": _OWNED,
    "projects.create_company_goal": _OWNED,
    "issues.create": _OWNED,
    "agents.create_agent_key": _object(id=_UUID, agentId=_UUID),
    "routines.create": _OWNED,
    "routines.add_trigger": _WITH_SECRET,
    "triggers.rotate": _WITH_SECRET,
    "runs.fire": _RUN,
    "runs.replay": _RUN,
    "triggers.fire_public": _RUN,
}

_COMPANY = {"companyId": "/id"}
_ROUTINE = {"routineId": "/id"}
_TRIGGER_ID = {"triggerId": "/trigger/id"}
_RUN_ID = {"runId": "/id"}
_TO_RUN = {"GetRun": ("runs.show", _RUN_ID), "ReplayRun": ("runs.replay", _RUN_ID)}
_TO_TRIGGER = {
    "UpdateTrigger": ("triggers.update", _TRIGGER_ID),
    "DeleteTrigger": ("triggers.delete", _TRIGGER_ID),
    "RotateTriggerSecret": ("triggers.rotate", _TRIGGER_ID),
    "PreviewTriggerFireTimes": ("schedules.next_runs", _TRIGGER_ID),
    "BackfillTrigger": ("schedules.backfill", _TRIGGER_ID),
    "FireWebhook": ("triggers.fire_public", {"publicId": "/trigger/publicId"}),
}
#: Link name -> (target endpoint, path parameter -> JSON pointer into the success body).
LINKS: dict[str, dict[str, tuple[str, dict[str, str]]]] = {
    "companies.create": {
        "GetCompany": ("companies.show", _COMPANY),
        "CreateAgent": ("agents.create", _COMPANY),
        "ListAgents": ("agents.index", _COMPANY),
        "CreateProject": ("projects.create", _COMPANY),
        "ListProjects": ("projects.index", _COMPANY),
        "CreateGoal": ("projects.create_company_goal", _COMPANY),
        "CreateIssue": ("issues.create", _COMPANY),
        "CreateRoutine": ("routines.create", _COMPANY),
        "ListRoutines": ("routines.index", _COMPANY),
        "ListActivity": ("activity.index", _COMPANY),
    },
    "agents.create": {
        "GetAgent": ("agents.show", {"agentId": "/id"}),
        "UpdateAgent": ("agents.update", {"agentId": "/id"}),
        "CreateAgentKey": ("agents.create_agent_key", {"agentId": "/id"}),
    },
    "projects.create": {
        name: (target, {"projectId": "/id"})
        for name, target in (
            ("GetProject", "projects.show"),
            ("UpdateProject", "projects.update"),
            ("PauseProject", "projects.pause"),
            ("ResumeProject", "projects.resume"),
        )
    },
    "projects.create_company_goal": {"GetGoal": ("projects.show_goal", {"goalId": "/id"})},
    "issues.create": {
        "GetIssue": ("issues.show", {"issueId": "/id"}),
        "UpdateIssue": ("issues.update", {"issueId": "/id"}),
    },
    "agents.create_agent_key": {
        "RevokeAgentKey": ("agents.revoke_agent_key", {"agentId": "/agentId", "keyId": "/id"}),
    },
    "routines.create": {
        "GetRoutine": ("routines.show", _ROUTINE),
        "UpdateRoutine": ("routines.update", _ROUTINE),
        "AddTrigger": ("routines.add_trigger", _ROUTINE),
        "ListTriggers": ("routines.triggers", _ROUTINE),
        "RunRoutine": ("runs.fire", _ROUTINE),
        "ListRuns": ("runs.index", _ROUTINE),
    },
    "routines.add_trigger": _TO_TRIGGER,
    "triggers.rotate": _TO_TRIGGER,
    "runs.fire": _TO_RUN,
    "runs.replay": _TO_RUN,
    "triggers.fire_public": _TO_RUN,
}


def links(endpoint: str) -> dict[str, Any]:
    """The `links` of an endpoint's success response (`FireWebhook` only for webhooks)."""
    return {
        name: {
            "operationId": target.replace(".", "_"),
            "parameters": {
                parameter: f"$response.body#{pointer}" for parameter, pointer in params.items()
            },
        }
        for name, (target, params) in LINKS.get(endpoint, {}).items()
    }
