"""Which handoff requests a member of staff may see and change: the one access rule.

A worker, coordinator or administrator may see and change a request only when it
is *in their scope*: they took it themselves (``claimed_by`` is their id), or it is
in one of their languages and from one of their regions. An empty
``region_codes`` means every region, including requests without a municipality;
anyone limited to regions does not see requests whose region is unknown. The role
does not widen the scope (an administrator limited to Lappi sees Lappi only); it
decides what may be done within it (see :mod:`bot.handoff.queue` and :mod:`bot.handoff.agents`).

The rule is written twice, once for a request in hand (:func:`in_scope`) and once
as a SQL condition for queries that list rows (:func:`scope_condition`); the tests
check that both decide alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import and_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from bot.db.models import HandoffRequestRow, MunicipalityRow


class Viewer(Protocol):
    """What the rule reads of a member of staff (:class:`bot.handoff.agents.Agent`)."""

    @property
    def id(self) -> int: ...

    @property
    def languages(self) -> Sequence[str]: ...

    @property
    def region_codes(self) -> Sequence[str]: ...


class OutOfScopeError(Exception):
    """The request exists but is outside the viewer's languages and regions (HTTP 403)."""

    code = "out_of_scope"

    def __init__(self) -> None:
        super().__init__("this request is outside your languages and regions")


def in_scope(
    viewer: Viewer, *, language: str, region_code: str | None, claimed_by: int | None
) -> bool:
    """Whether ``viewer`` may see and change a request with these properties."""
    if claimed_by is not None and claimed_by == viewer.id:
        return True
    in_region = not viewer.region_codes or region_code in viewer.region_codes
    return language in viewer.languages and in_region


def scope_condition(viewer: Viewer) -> ColumnElement:
    """:func:`in_scope` as a condition on ``handoff_requests`` rows (no join needed)."""
    conditions = [HandoffRequestRow.language.in_(list(viewer.languages))]
    if viewer.region_codes:
        conditions.append(
            HandoffRequestRow.municipality_code.in_(
                select(MunicipalityRow.code).where(
                    MunicipalityRow.region_code.in_(list(viewer.region_codes))
                )
            )
        )
    return or_(and_(*conditions), HandoffRequestRow.claimed_by == viewer.id)
