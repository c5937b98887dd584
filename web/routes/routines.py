"""Routines and their triggers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from shared.contract.bodies import RoutineCreate, RoutinePatch, TriggerCreate
from shared.contract.parsing import parse_body
from shared.routines.reading import list_routines, routine_detail
from shared.routines.service import create_routine, update_routine
from shared.routines.triggers import create_trigger
from shared.tenancy.lookup import company_from_path
from web import presenters as p
from web.body import json_object
from web.context import now, runtime, work
from web.paging import page_request, paged
from web.routes.triggers import with_secret

bp = Blueprint("routines", __name__, url_prefix="/api")


@bp.get("/companies/<company_id>/routines")
def index(company_id: str) -> Any:
    with work() as w:
        company = company_from_path(w.session, w.principal, company_id)
        project_id = request.args.get("projectId") or None
        items = list_routines(w.session, company, project_id=project_id, page=page_request())
        return paged(items, p.routine_list_item)


@bp.post("/companies/<company_id>/routines")
def create(company_id: str) -> Any:
    with work() as w:
        body = parse_body(RoutineCreate, json_object())
        company = company_from_path(w.session, w.principal, company_id)
        routine = create_routine(w.session, w.principal, company=company, command=body, now=now())
        return p.routine(routine), 201


@bp.get("/routines/<routine_id>")
def show(routine_id: str) -> Any:
    with work() as w:
        return p.routine_detail(routine_detail(w.session, w.principal, routine_id=routine_id))


@bp.patch("/routines/<routine_id>")
def update(routine_id: str) -> Any:
    with work() as w:
        body = parse_body(RoutinePatch, json_object())
        routine = update_routine(
            w.session, w.principal, routine_id=routine_id, command=body, now=now()
        )
        return p.routine(routine)


@bp.post("/routines/<routine_id>/triggers")
def add_trigger(routine_id: str) -> Any:
    with work() as w:
        body = parse_body(TriggerCreate, json_object())
        box = runtime().box if body.kind == "webhook" else None
        created = create_trigger(
            w.session,
            w.principal,
            routine_id=routine_id,
            command=body,
            box=box,
            public_url=runtime().settings.public_url,
            now=now(),
        )
        return with_secret(created), 201


@bp.get("/routines/<routine_id>/triggers")
def triggers(routine_id: str) -> Any:
    with work() as w:
        detail = routine_detail(w.session, w.principal, routine_id=routine_id)
        return [p.trigger(t) for t in detail.triggers]
