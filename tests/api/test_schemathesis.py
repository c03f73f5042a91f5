"""Schemathesis over the whole API, in-process through WSGI: requests generated from the OpenAPI
document, each answered without a server error, with a documented status and a body that
conforms to the document.

A bounded number of examples per operation keeps the run near half a minute per database; the
examples differ from run to run only when Hypothesis is told to (its database is off).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from office.api.openapi import openapi_document
from office.auth.permissions import Role
from tests.api.conftest import diesel_line, issue_token
from tests.api.review_exchanges import REVIEWER_REVIEW_OPERATIONS
from tests.api.staffing_calls import STAFFING_POSTS, staffed
from tests.api.test_openapi import fuel_site, grid_meter
from tests.factories import draw, make_rice, make_user, make_waiver

EXAMPLES_PER_OPERATION = 20
# Who calls each operation: the reviewer keeps the catalogue and the waivers, the office
# administrator the ledger; both read.
REVIEWER_OPERATIONS = {"createResource", "createWaiver", "changeWaiverStatus"}
REVIEWER_OPERATIONS |= REVIEWER_REVIEW_OPERATIONS


# The document the app serves at /api/v1/openapi.json (a test in test_openapi.py checks that).
schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture
def tokens(session):
    """Tokens of an office administrator and a reviewer, beside a waiver already drawn on, a
    grid meter, a tank and a generator."""
    rice = make_rice(session)
    waiver = make_waiver(session, [(rice, "kg", "5000", "5000")])
    draw(session, rice, "10", line=waiver.lines[0])
    grid_meter(session)
    fuel_site(session, diesel_line(session)[1])
    staffed(session)
    return {
        role: issue_token(session, make_user(session, role))
        for role in (Role.ADMIN, Role.REVIEWER, Role.SCHEDULER)
    }


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, app, tokens):
    operation = case.operation.definition.raw.get("operationId")
    role = (
        Role.REVIEWER
        if operation in REVIEWER_OPERATIONS
        else Role.SCHEDULER
        if operation in STAFFING_POSTS
        else Role.ADMIN
    )
    case.call_and_validate(
        app=app,
        headers={"Authorization": f"Bearer {tokens[role]}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
