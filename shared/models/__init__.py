"""The ORM model, one module per concept; import from here."""

from shared.models.activity import ActivityEntry
from shared.models.base import Base
from shared.models.routines import Routine, RoutineRun, RoutineTrigger, Secret
from shared.models.tenancy import Agent, AgentKey, BoardUser, Company, CompanyMembership
from shared.models.work import Goal, Issue, Project

__all__ = [
    "ActivityEntry",
    "Agent",
    "AgentKey",
    "Base",
    "BoardUser",
    "Company",
    "CompanyMembership",
    "Goal",
    "Issue",
    "Project",
    "Routine",
    "RoutineRun",
    "RoutineTrigger",
    "Secret",
]
