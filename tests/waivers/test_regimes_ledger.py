"""A drawdown is screened under every regime in force: it names a line under each regime that
controls its resource (or draws on the regime's standing authorisation), each regime is
classified on its own, the entry is the worst of them, and every line's cap holds."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text, update

from office.auth.permissions import Role
from office.errors import InvalidInput
from office.waivers import ledger, regimes, services
from office.waivers.models import (
    Authority,
    Basis,
    Classification,
    Control,
    DrawdownEntry,
    EntryScreening,
    Regime,
    WaiverStatus,
)
from office.waivers.units import Unit
from tests.factories import NOW, draw, make_resource, make_steel, make_user, make_waiver
from tests.waivers.test_ledger import append_only_lifted

C = Classification
UN, ROK, US = Authority.UN_1718_COMMITTEE, Authority.ROK_MOU_INDIVIDUAL, Authority.US_GOVERNMENT


def draw_on(session, resource, quantity: str, lines) -> DrawdownEntry:
    """Draw `quantity` L of `resource` on 2018-10-01, naming `lines` (one per regime)."""
    return ledger.record_drawdown(
        session,
        resource=resource,
        quantity=quantity,
        unit="L",
        occurred_on=date(2018, 10, 1),
        authorisations=lines,
        purpose="operation",
        actor=None,
        now=NOW,
    )


def under(entry: DrawdownEntry) -> dict[str, str]:
    return {s.regime.code: s.classification.value for s in entry.screenings}


@pytest.fixture
def diesel_lines(session, every_regime, diesel):
    """A UN line and a ministry line for diesel, 10,000 L each."""
    un = make_waiver(session, [(diesel, "L", "10000", "10000")], authority=UN)
    rok = make_waiver(session, [(diesel, "L", "10000", "10000")], authority=ROK)
    return un.lines[0], rok.lines[0]


def test_each_regime_determines_its_own_control_with_what_decided_it(session, every_regime):
    steel = make_steel(session)
    computer = make_resource(
        session, "computer", hs_code="8471.50", unit="piece", barrels_per_tonne=None
    )
    services.save_resource(
        session,
        code="computer",
        name_ko="c",
        name_en="Computer",
        hs_code="8471.50",
        unit="piece",
        origin="US",
        us_content_percent="100",
        actor=None,
        now=NOW,
        resource=computer,
    )
    rice = make_resource(session, "rice", hs_code="1006.30", unit="kg", barrels_per_tonne=None)
    services.save_resource(
        session,
        code="rice",
        name_ko="r",
        name_en="Rice",
        hs_code="1006.30",
        unit="kg",
        origin="US",
        us_content_percent="100",
        actor=None,
        now=NOW,
        resource=rice,
    )

    def controls(resource):
        return {
            c.regime.code: (c.control, c.basis, c.rule.prefix if c.rule else None)
            for c in resource.controls
        }

    assert controls(steel) == {
        "un": (Control.PROHIBITED, Basis.RULE, "72"),
        "rok": (Control.APPROVAL, Basis.DEFAULT, None),
        "us": (Control.NONE, Basis.NOT_SUBJECT, None),  # made in Korea, no US content
    }
    assert controls(computer)["us"] == (Control.APPROVAL, Basis.DEFAULT, None)
    assert controls(rice)["us"] == (Control.NONE, Basis.RULE, "10")  # food: EAR99


@pytest.mark.parametrize(
    ("content", "share", "control"),
    [("8", "10", Control.NONE), ("12", "10", Control.APPROVAL), ("8", "5", Control.APPROVAL)],
)
def test_the_us_regime_reaches_foreign_goods_above_its_de_minimis_share(
    session, every_regime, content, share, control
):
    us = regimes.regime_by_code(session, "us")
    regimes.update_regime(
        session,
        us,
        name_en=us.name_en,
        name_ko=us.name_ko,
        in_force=True,
        default_control=us.default_control,
        us_content_threshold=share,
        note=us.note,
        actor=None,
        now=NOW,
    )
    heater = services.save_resource(
        session,
        code="heater",
        name_ko="h",
        name_en="Heater",
        hs_code="8516.10",
        unit="piece",
        origin="KR",
        us_content_percent=content,
        actor=None,
        now=NOW,
    )
    assert regimes.controls_of(heater)[us.id].control is control


@pytest.mark.parametrize("value", ["-1", "101", "ten", "10.001", ""])
def test_a_us_content_share_is_a_percent(session, value):
    with pytest.raises(InvalidInput, match="percent from 0 to 100"):
        services.save_resource(
            session,
            code="x",
            name_ko="x",
            name_en="X",
            hs_code="8516.10",
            unit="piece",
            us_content_percent=value,
            actor=None,
            now=NOW,
        )


def test_a_drawdown_covered_under_every_regime_draws_on_each_line(session, diesel_lines):
    un_line, rok_line = diesel_lines
    entry = draw_on(session, un_line.resource, "2500", [rok_line, un_line])
    session.commit()
    assert under(entry) == {"un": "covered", "rok": "covered", "us": "not_required"}
    assert (entry.classification, entry.flagged) == (C.COVERED, False)
    assert [s.waiver_line_id for s in entry.screenings] == [un_line.id, rok_line.id, None]
    assert un_line.used_base == rok_line.used_base == Decimal(2500)
    assert ledger.check_usage(session) == []
    assert ledger.check_screenings(session) == []
    assert ledger.verify_chain(session) == (1, None)


def test_a_line_under_one_regime_is_not_cover_under_another(session, diesel_lines):
    un_line, _rok_line = diesel_lines
    with pytest.raises(ledger.DrawdownRefused) as refused:
        draw(session, un_line.resource, "100", line=un_line)
    assert refused.value.classification is C.UNCOVERED
    assert {s.regime.code: s.classification for s in refused.value.regimes} == {
        "un": C.COVERED,
        "rok": C.UNCOVERED,
        "us": C.NOT_REQUIRED,
    }
    assert str(refused.value) == (
        "ROK carry-out approval (Ministry of Unification): Diesel (HS 2710.19) needs an "
        "approval: choose the line that covers it, or give a reason to record it uncovered."
    )
    assert session.scalar(select(func.count()).select_from(DrawdownEntry)) == 0
    assert un_line.used_base == 0


def test_the_refusal_names_each_regime_that_refuses_with_its_line_and_numbers(
    session, diesel_lines
):
    un_line, rok_line = diesel_lines
    services.change_waiver_status(
        session,
        rok_line.waiver,
        WaiverStatus.REVOKED,
        effective_on=date(2018, 9, 1),
        actor=None,
        now=NOW,
    )
    session.commit()
    with pytest.raises(ledger.DrawdownRefused) as refused:
        draw_on(session, un_line.resource, "12000", [un_line, rok_line])
    # The worst first: denied (ministry) before over the cap (UN).
    assert refused.value.classification is C.DENIED
    message = str(refused.value)
    assert (
        f"UN Security Council sanctions (1718 Committee): Waiver {un_line.waiver.reference} "
        "line 1 has 10,000 L left; this drawdown asks for 12,000 L."
    ) in message
    assert f"Waiver {rok_line.waiver.reference} is revoked" in message
    assert un_line.used_base == rok_line.used_base == 0


def test_a_standing_blanket_approval_is_drawn_on_when_no_ministry_line_is_named(
    session, every_regime, diesel
):
    un_line = make_waiver(session, [(diesel, "L", "10000", "10000")], authority=UN).lines[0]
    blanket = make_waiver(
        session, [(diesel, "L", "300", "300")], authority=Authority.ROK_MOU_BLANKET
    )
    assert blanket.standing
    entry = draw(session, diesel, "200", line=un_line)
    assert under(entry) == {"un": "covered", "rok": "covered", "us": "not_required"}
    assert entry.screenings[1].waiver_line_id == blanket.lines[0].id
    assert entry.waiver_line_id == un_line.id  # the line named is the entry's own
    # A standing line without room for the quantity is not drawn on.
    with pytest.raises(ledger.DrawdownRefused) as refused:
        draw(session, diesel, "200", line=un_line)
    assert {s.regime.code: s.classification for s in refused.value.regimes}["rok"] is C.UNCOVERED


def test_one_line_per_regime(session, every_regime, diesel):
    first = make_waiver(session, [(diesel, "L", "100", "100")], authority=UN).lines[0]
    second = make_waiver(session, [(diesel, "L", "100", "100")], authority=UN).lines[0]
    with pytest.raises(InvalidInput, match="Name one line under UN Security Council") as bad:
        draw_on(session, diesel, "1", [first, second])
    assert bad.value.field == "authorisations.un"


def test_an_override_records_every_regimes_refusal_and_flags_it(session, every_regime):
    admin = make_user(session, Role.ADMIN)
    steel = make_steel(session)
    approval = make_waiver(session, [(steel, "t", "45", "45")], authority=ROK).lines[0]
    entry = draw(
        session,
        steel,
        "8",
        unit="t",
        line=approval,
        actor=admin,
        override="The government's position: for the office's own use.",
    )
    assert under(entry) == {"un": "uncovered", "rok": "covered", "us": "not_required"}
    assert (entry.classification, entry.flagged) == (C.UNCOVERED, True)
    assert approval.used_base == Decimal(8)


def test_a_reversal_gives_back_every_line_it_drew_on(session, diesel_lines):
    un_line, rok_line = diesel_lines
    entry = draw_on(session, un_line.resource, "2500", [un_line, rok_line])
    reversal = ledger.reverse_entry(session, entry, reason="typed twice", actor=None, now=NOW)
    session.commit()
    assert under(reversal) == under(entry)
    assert [s.waiver_line_id for s in reversal.screenings] == [un_line.id, rok_line.id, None]
    assert un_line.used_base == rok_line.used_base == 0
    assert ledger.check_usage(session) == []
    assert ledger.check_screenings(session) == []
    assert ledger.verify_chain(session) == (2, None)


def test_the_hash_covers_every_regime_and_check_compares_the_rows(
    session, connection, diesel_lines
):
    un_line, rok_line = diesel_lines
    entry = draw_on(session, un_line.resource, "10", [un_line, rok_line])
    session.commit()
    # A screening row changed behind the ledger's back: `ledger check` sees it.
    session.execute(
        update(EntryScreening)
        .where(
            EntryScreening.entry_id == entry.id,
            EntryScreening.regime_id == rok_line.waiver.regime_id,
        )
        .values(classification=C.UNCOVERED)
    )
    session.commit()
    problems = ledger.check_screenings(session)
    assert [(p.seq, p.reason) for p in problems] == [
        (entry.seq, "its screenings differ from its hashed record")
    ]
    # The hashed record changed: the chain no longer verifies.
    with append_only_lifted(connection):
        session.execute(
            text("UPDATE drawdown_entries SET regimes = replace(regimes, 'covered', 'over_cap')")
        )
        session.commit()
    assert ledger.verify_chain(session) == (
        0,
        ledger.ChainProblem(1, "its content does not match its hash"),
    )


def test_a_regime_put_in_force_later_shows_as_not_checked_on_older_entries(
    client, session, every_regime, diesel
):
    un_line = make_waiver(session, [(diesel, "L", "100", "100")], authority=UN).lines[0]
    session.execute(update(Regime).where(Regime.code != "un").values(in_force=False))
    session.commit()
    entry = draw(session, diesel, "10", line=un_line)
    assert under(entry) == {"un": "covered"}
    session.execute(update(Regime).values(in_force=True))
    session.commit()
    from tests.conftest import log_in

    page = log_in(client, make_user(session, Role.REVIEWER)).get(f"/ledger/{entry.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("not checked at the time") == 2  # the ministry's and the US regime's


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([C.COVERED, C.NOT_REQUIRED], C.COVERED),
        ([C.NOT_REQUIRED], C.NOT_REQUIRED),
        ([C.OVER_CAP, C.PENDING, C.COVERED], C.PENDING),
        ([C.COVERED, C.UNCOVERED, C.DENIED], C.UNCOVERED),
        ([], C.NOT_REQUIRED),
    ],
)
def test_the_entry_is_the_worst_of_its_regimes(given, expected):
    assert ledger.worst(given) is expected


def test_a_line_in_barrels_and_one_in_litres_each_hold_their_cap(session, every_regime, diesel):
    un_line = make_waiver(session, [(diesel, Unit.BBL, "10", "10")], authority=UN).lines[0]
    rok_line = make_waiver(session, [(diesel, "L", "5000", "5000")], authority=ROK).lines[0]
    entry = ledger.record_drawdown(
        session,
        resource=diesel,
        quantity="1",
        unit=Unit.BBL,
        occurred_on=date(2018, 10, 1),
        authorisations=[un_line, rok_line],
        purpose="operation",
        actor=None,
        now=NOW,
    )
    assert under(entry)["un"] == "covered"
    assert un_line.used_base == rok_line.used_base == entry.base_quantity
    with pytest.raises(ledger.DrawdownRefused) as refused:
        ledger.record_drawdown(
            session,
            resource=diesel,
            quantity="9.5",
            unit=Unit.BBL,
            occurred_on=date(2018, 10, 1),
            authorisations=[un_line, rok_line],
            purpose="operation",
            actor=None,
            now=NOW,
        )
    assert refused.value.classification is C.OVER_CAP
