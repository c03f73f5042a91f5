"""Who takes part in the review, and one flagged record of each kind to review."""

from __future__ import annotations

import pytest

from office.auth.permissions import Role
from tests.factories import make_resource, make_user
from tests.reviews.arrange import one_of_each


@pytest.fixture
def admin(session):
    return make_user(session, Role.ADMIN, name="Admin Kim")


@pytest.fixture
def reviewer(session):
    return make_user(session, Role.REVIEWER, name="Reviewer Park")


@pytest.fixture
def diesel(session):
    return make_resource(session)  # capped (HS 2710), in litres


@pytest.fixture
def flagged(session, admin, diesel):
    return one_of_each(session, admin, diesel)
