"""Charts are scaled whole with their box, never stretched: their labels keep their shape
however wide the box and however many days they show."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest


def _render(app, macro: str, *args: object) -> str:
    with app.test_request_context():
        module = app.jinja_env.get_template("_charts.html").module
        return str(getattr(module, macro)(*args))


@pytest.mark.parametrize("days", [1, 7, 90])
def test_a_bar_chart_has_one_shape_whatever_its_days(app, days):
    start = date(2018, 10, 1)
    values = [(start + timedelta(n), Decimal(n + 1)) for n in range(days)]

    svg = _render(app, "bars", values, "Fuel issued per day", "L")

    assert 'viewBox="0 0 600 130"' in svg
    assert "preserveAspectRatio" not in svg  # the default: scale whole, keep the shape
    bars = re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
    assert len(bars) == days
    assert max(float(x) + float(w) for x, w in bars) <= 600


def test_a_cumulative_chart_is_scaled_whole(app):
    points = [(date(2018, 10, 1), Decimal(10)), (date(2018, 10, 2), Decimal(30))]

    svg = _render(app, "cumulative", points, Decimal(100), "Line 1", "L")

    assert "preserveAspectRatio" not in svg
    assert 'viewBox="0 0 600 130"' in svg
