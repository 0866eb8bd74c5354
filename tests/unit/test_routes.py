"""The route table (domain/routes.py) against the contract and the fold: every event type is
routed or explicitly ignored, every figure it names exists, and the sets the fold uses are the
table's."""

from __future__ import annotations

from domain.contributions import ROWS
from domain.lifecycle.case import EXPECTED_FROM, next_status
from domain.lifecycle.guardianship import GUARDIANSHIP_EVENTS
from domain.lifecycle.reception import RECEPTION_EVENTS
from domain.routes import NEEDS_CASE, PRECEDENCE, ROUTES, Handler, handled_by
from schemas.event_types import EventType
from schemas.registry import default_registry


def test_every_type_of_the_contract_has_a_route_and_no_route_names_an_unknown_type() -> None:
    contract = set(default_registry().event_types())
    assert contract - set(ROUTES) == set(), "contract types without a route"
    assert set(ROUTES) - contract == set(), "routes for types the contract does not have"
    assert all(isinstance(t, EventType) for t in ROUTES)


def test_every_figure_named_is_a_projection_and_every_projection_is_fed() -> None:
    named = {f for r in ROUTES.values() for f in r.figures}
    assert named - set(ROWS) == set(), "figures that are no projection"
    assert set(ROWS) - named == set(), "projections no route feeds"


def test_precedence_is_the_table_order_of_the_ranked_types() -> None:
    ranked = [t for t, r in ROUTES.items() if r.ranked]
    assert list(PRECEDENCE) == ranked
    # The unranked ones come after every ranked one in the table, so the order reads as it sorts.
    first_unranked = next(i for i, r in enumerate(ROUTES.values()) if not r.ranked)
    assert all(not r.ranked for r in list(ROUTES.values())[first_unranked:])


def test_case_transitions_belong_to_case_routed_types() -> None:
    case_types = handled_by(Handler.CASE)
    assert set(EXPECTED_FROM) <= case_types
    assert set(EXPECTED_FROM) <= NEEDS_CASE
    for etype in case_types:
        if etype not in EXPECTED_FROM:
            assert next_status(etype, {}) is None, (
                f"{etype} changes a case but has no EXPECTED_FROM"
            )


def test_the_fold_sets_are_the_tables() -> None:
    assert handled_by(Handler.RECEPTION) == RECEPTION_EVENTS
    assert handled_by(Handler.GUARDIANSHIP) == GUARDIANSHIP_EVENTS
    assert handled_by(Handler.CASE) >= NEEDS_CASE
