"""Query strings that are checked rather than forgiven, as pydantic models like the
bodies: a view parses `request.args` into one, and the OpenAPI document lists its
fields as query parameters."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shared.contract.bodies import Body
from shared.contract.fields import Nullable, Uuid
from shared.contract.vocabulary import EntityType

#: A page of the activity log: 50 entries unless asked, never more than 200.
DEFAULT_ACTIVITY_LIMIT, MAX_ACTIVITY_LIMIT = 50, 200


class ActivityQuery(Body):
    """`limit` out of 1..200 or not a whole number is a 400, not clamped; `before` is the
    id of the entry the page starts after (the last one of the previous page)."""

    limit: Annotated[
        int,
        Field(ge=1, le=MAX_ACTIVITY_LIMIT, description="Page size, 1..200; anything else is 400."),
    ] = DEFAULT_ACTIVITY_LIMIT
    before: Annotated[
        Nullable[Uuid],
        Field(description="The id of the last entry of the previous page (see `Link`)."),
    ] = None
    entity_type: Annotated[
        Nullable[EntityType], Field(description="Only entries about this kind of entity.")
    ] = None
    entity_id: Annotated[
        Nullable[Uuid], Field(description="Only entries about this entity (its id).")
    ] = None
