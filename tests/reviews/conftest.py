"""One flagged record of each kind to review (its people and diesel: tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.reviews.arrange import one_of_each


@pytest.fixture
def flagged(session, admin, diesel):
    return one_of_each(session, admin, diesel)
