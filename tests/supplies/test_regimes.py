"""Deliveries under every regime (#17): a north-bound delivery names the ministry's carry-out
approval it goes under, each manifest line draws on that approval's line under the ministry's
regime and on its own line (usually the UN exemption's) under the UN's, is screened and
recorded under every regime, and a crossing is refused naming each regime that refuses.
Existing deliveries keep their approval: the migration names the approval whose reference is
the number typed, and keeps as text what names none."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from office import create_app
from office.auth import services as auth_services
from office.auth.permissions import Role
from office.db import create_engine_for, db
from office.errors import InvalidInput
from office.stock.models import StockLot
from office.supplies import services
from office.supplies.models import ApprovalType, Delivery, DeliveryStatus
from office.waivers import ledger
from office.waivers import services as waivers
from office.waivers.models import (
    Classification,
    DrawdownEntry,
    Regime,
    WaiverLine,
    WaiverStatus,
)
from tests.conftest import TEST_SECRET_KEY, log_in
from tests.factories import NOW, make_approval, make_waiver
from tests.supplies.arrange import CROSSED_ON, approved, count, crossed, draft, line
from tests.supplies.pages import read
from tests.support import migrate, migrated_scratch_engine, scratch_database

UN = "UN Security Council sanctions (1718 Committee)"
ROK = "ROK carry-out approval (Ministry of Unification)"
US = "US Export Administration Regulations"


@pytest.fixture
def exemption(session, steel, copper):
    """The 1718 Committee's exemption: 100 t of steel, 100 t of copper."""
    return make_waiver(
        session,
        [(steel, "t", "100", "100"), (copper, "t", "100", "100")],
        reference="UN1718-2018-01",
    )


@pytest.fixture
def approval(session, steel, copper, rice):
    """The ministry's carry-out approval: 10 t of steel, 500 kg of rice (no copper)."""
    return make_approval(
        session,
        [(steel, "t", "10", "10"), (rice, "kg", "500", "500")],
        reference="MOU-2018-0611",
    )


def regimes_of(entry: DrawdownEntry) -> list[tuple[str, str, str | None]]:
    return [
        (
            s.regime.code,
            s.classification.value,
            s.waiver_line.waiver.reference if s.waiver_line else None,
        )
        for s in entry.screenings
    ]


def badges(screening: services.Screening) -> list[tuple[str, Classification, str | None]]:
    return [
        (b.regime.code, b.classification, b.line.waiver.reference if b.line else None)
        for b in screening.regimes
    ]


# --- crossing under every regime -----------------------------------------------------------


def test_steel_on_a_un_exemption_with_a_ministry_approval_crosses_covered_under_both(
    session, every_regime, admin, steel, exemption, approval
):
    delivery = approved(session, [line(steel, "4", exemption.lines[0])], approval=approval)

    [screened] = services.screen(session, delivery, CROSSED_ON)
    assert badges(screened) == [
        ("un", Classification.COVERED, "UN1718-2018-01"),
        ("rok", Classification.COVERED, "MOU-2018-0611"),
        ("us", Classification.NOT_REQUIRED, None),
    ]
    assert screened.passes and screened.message is None

    services.cross(session, delivery, crossed_on=CROSSED_ON, actor=admin, now=NOW)
    session.commit()

    entry = session.get(DrawdownEntry, delivery.lines[0].drawdown_entry_id)
    assert regimes_of(entry) == [
        ("un", "covered", "UN1718-2018-01"),
        ("rok", "covered", "MOU-2018-0611"),
        ("us", "not_required", None),
    ]
    assert (entry.classification, entry.flagged) == (Classification.COVERED, False)
    assert exemption.lines[0].used_base == approval.lines[0].used_base == Decimal(4)
    assert ledger.verify_chain(session) == (1, None)
    assert ledger.check_usage(session) == [] and ledger.check_screenings(session) == []


def test_without_the_un_exemption_the_crossing_is_refused_naming_the_un_regime(
    session, every_regime, admin, steel, approval
):
    delivery = approved(session, [line(steel, "4")], approval=approval)

    [screened] = services.screen(session, delivery, CROSSED_ON)
    assert badges(screened) == [
        ("un", Classification.UNCOVERED, None),
        ("rok", Classification.COVERED, "MOU-2018-0611"),
        ("us", Classification.NOT_REQUIRED, None),
    ]
    with pytest.raises(services.CrossingRefused) as refused:
        services.cross(session, delivery, crossed_on=CROSSED_ON, actor=admin, now=NOW)
    session.rollback()

    why = (
        f"{UN}: Steel (HS 7216.10) is prohibited: choose the waiver line that covers it, "
        "or give a reason to record it uncovered."
    )
    assert refused.value.refusals == [(1, why)]
    assert [(n, str(m)) for n, m in refused.value.refusals] == [(1, str(screened.message))]
    assert ROK not in str(refused.value)
    assert count(session, DrawdownEntry) == 0 and approval.lines[0].used_base == 0
    assert delivery.status is DeliveryStatus.APPROVED


def test_the_approvals_cap_holds_across_a_deliverys_lines_and_its_refusal_names_the_ministry(
    session, every_regime, admin, steel, exemption, approval
):
    un_steel = exemption.lines[0]
    delivery = approved(
        session,
        [line(steel, "6", un_steel), line(steel, "5", un_steel)],  # 10 t approved
        approval=approval,
    )

    first, second = services.screen(session, delivery, CROSSED_ON)
    assert [b.classification for b in first.regimes[:2]] == [Classification.COVERED] * 2
    assert badges(second)[:2] == [
        ("un", Classification.COVERED, "UN1718-2018-01"),
        ("rok", Classification.OVER_CAP, "MOU-2018-0611"),
    ]
    # As the crossing will say it: by then the first line has drawn its 6 t.
    assert [(b.remaining_before, b.remaining_after) for b in second.regimes[:2]] == [
        (Decimal(94), Decimal(89)),
        (Decimal(4), Decimal(-1)),
    ]
    why = f"{ROK}: Waiver MOU-2018-0611 line 1 has 4 t left; this drawdown asks for 5 t."
    assert str(second.message) == why

    with pytest.raises(services.CrossingRefused) as refused:
        services.cross(session, delivery, crossed_on=CROSSED_ON, actor=admin, now=NOW)
    session.rollback()
    assert [(n, str(m)) for n, m in refused.value.refusals] == [(2, why)]
    assert approval.lines[0].used_base == 0 and un_steel.used_base == 0

    # 4 t fit: it crosses, and the approval's line is then drawn to its cap.
    crossed(session, [line(steel, "6", un_steel), line(steel, "4", un_steel)], approval=approval)
    assert approval.lines[0].used_base == approval.lines[0].granted_base == Decimal(10)
    assert ledger.check_usage(session) == []


def test_a_resource_the_approval_lacks_is_uncovered_under_the_ministry_unless_a_blanket_stands(
    session, every_regime, admin, copper, exemption, approval
):
    delivery = draft(session, [line(copper, "1", exemption.lines[1])], approval=approval)
    [screened] = services.screen(session, delivery, CROSSED_ON)
    assert badges(screened)[:2] == [
        ("un", Classification.COVERED, "UN1718-2018-01"),
        ("rok", Classification.UNCOVERED, None),
    ]
    assert str(screened.message) == (
        f"{ROK}: The delivery's approval MOU-2018-0611 has no line for Copper, and no standing "
        "approval covers it: give a reason to record it uncovered."
    )

    # The ministry's blanket approval stands: a line it has for copper is drawn on.
    blanket = make_approval(session, [(copper, "t", "3", "3")], blanket=True)
    [screened] = services.screen(session, delivery, CROSSED_ON)
    rok = screened.regimes[1]
    assert (rok.classification, rok.line, rok.standing) == (
        Classification.COVERED,
        blanket.lines[0],
        True,
    )
    services.approve(session, delivery, actor=admin, now=NOW)
    services.cross(session, delivery, crossed_on=CROSSED_ON, actor=admin, now=NOW)
    session.commit()
    entry = session.get(DrawdownEntry, delivery.lines[0].drawdown_entry_id)
    assert regimes_of(entry)[:2] == [
        ("un", "covered", "UN1718-2018-01"),
        ("rok", "covered", blanket.reference),
    ]
    assert blanket.lines[0].used_base == Decimal(1)


def test_a_line_on_the_approval_itself_names_it_once(session, every_regime, admin, rice, approval):
    rice_line = approval.lines[1]
    delivery = crossed(session, [line(rice, "200", rice_line)], approval=approval, actor=admin)
    entry = session.get(DrawdownEntry, delivery.lines[0].drawdown_entry_id)
    assert regimes_of(entry) == [
        ("un", "not_required", None),
        ("rok", "covered", "MOU-2018-0611"),
        ("us", "not_required", None),
    ]
    assert rice_line.used_base == Decimal(200)


def test_a_line_under_another_ministry_approval_draws_on_that_one(
    session, every_regime, admin, rice, approval
):
    other = make_approval(session, [(rice, "kg", "100", "100")], reference="MOU-2018-0702-G")
    delivery = crossed(session, [line(rice, "60", other.lines[0])], approval=approval, actor=admin)
    entry = session.get(DrawdownEntry, delivery.lines[0].drawdown_entry_id)
    assert regimes_of(entry)[1] == ("rok", "covered", "MOU-2018-0702-G")
    assert (other.lines[0].used_base, approval.lines[1].used_base) == (Decimal(60), 0)
    # Its lot came north under that line; a line of the delivery's approval's, under it.
    received = crossed(session, [line(rice, "5")], approval=approval, actor=admin)
    services.receive(session, received, received_on=CROSSED_ON, actor=admin, now=NOW)
    lot = session.get(StockLot, received.lines[0].lot_id)
    assert lot.waiver_line is approval.lines[1]


# --- the approval a delivery names ---------------------------------------------------------


def test_a_delivery_names_only_a_ministry_approval_and_takes_its_type(
    session, steel, exemption, approval
):
    with pytest.raises(InvalidInput, match="is not a ministry carry-out approval") as refused:
        draft(session, approval=exemption)
    assert refused.value.field == "approval_waiver_id"
    with pytest.raises(InvalidInput, match="chosen from the ministry's approvals, not typed"):
        services.save_delivery(
            session,
            reference="KLO-X",
            direction="north",
            planned_on=CROSSED_ON,
            approval_number="MOU-CO-TYPED",
            actor=None,
            now=NOW,
        )
    session.rollback()
    delivery = draft(session, approval=approval)
    assert (delivery.approval_kind, delivery.approval_type) == (ApprovalType.INDIVIDUAL, None)
    blanket = make_approval(session, blanket=True)
    services.save_delivery(
        session,
        reference=delivery.reference,
        direction="north",
        planned_on=CROSSED_ON,
        approval=blanket,
        actor=None,
        now=NOW,
        delivery=delivery,
    )
    assert delivery.approval_kind is ApprovalType.BLANKET


def test_a_south_bound_delivery_keeps_its_carry_in_approval_as_typed(session, approval):
    delivery = draft(session, direction="south", approval_number="MOU-CI-2018-0920")
    assert (delivery.approval_number, delivery.approval_kind, delivery.approval_waiver) == (
        "MOU-CI-2018-0920",
        ApprovalType.INDIVIDUAL,
        None,
    )
    with pytest.raises(InvalidInput, match="names no carry-out approval"):
        draft(session, direction="south", approval=approval)


# --- the delivery's page -------------------------------------------------------------------


def test_the_page_shows_a_badge_per_regime_for_each_line_then_each_as_recorded(
    client, session, every_regime, admin, steel, rice, exemption, approval
):
    as_admin = log_in(client, admin)
    delivery = approved(
        session,
        [line(steel, "4", exemption.lines[0]), line(rice, "100", override_reason="Samples")],
        approval=approval,
    )
    page = read(as_admin.get(f"/deliveries/{delivery.id}"))
    assert page.marked["approval"].startswith("MOU-2018-0611 (individual approval) granted")
    assert page.row("1")[7] == (
        f"{UN} prohibited covered left 100 → 96 "
        f"{ROK} approval required covered MOU-2018-0611 · 1 left 10 → 6 "
        f"{US} not controlled not required"
    )
    assert page.row("2")[7] == (
        f"{UN} not controlled not required "
        f"{ROK} approval required covered MOU-2018-0611 · 2 left 500 → 400 "
        f"{US} not controlled not required override: Samples"
    )

    response = as_admin.post(f"/deliveries/{delivery.id}/cross", data={"on": "2018-10-01"})
    assert response.status_code == 302
    page = read(as_admin.get(f"/deliveries/{delivery.id}"))
    assert page.row("1")[7] == (
        f"on the ledger {UN} covered UN1718-2018-01 · 1 {ROK} covered MOU-2018-0611 · 1 "
        f"{US} not required"
    )


def test_a_refused_crossing_on_the_page_names_each_regime_that_refuses(
    client, session, every_regime, admin, steel, approval
):
    as_admin = log_in(client, admin)
    delivery = approved(session, [line(steel, "12")], approval=approval)  # 10 t approved
    response = as_admin.post(f"/deliveries/{delivery.id}/cross", data={"on": "2018-10-01"})
    assert response.status_code == 409
    refusal = read(response).marked["crossing-refused"]
    assert f"Line 1: {UN}: Steel (HS 7216.10) is prohibited" in refusal
    assert f"{ROK}: Waiver MOU-2018-0611 line 1 has 10 t left; this drawdown asks for 12 t." in (
        refusal
    )
    assert US not in refusal


def test_the_header_offers_the_ministrys_approvals_and_keeps_a_number_typed_before(
    client, session, admin, steel, exemption, approval
):
    as_admin = log_in(client, admin)
    page = read(as_admin.get("/deliveries/new"))
    # Each with its status today (the test waivers ended with 2018); the UN's is not offered.
    offered = [text for value, text, _group in page.choices["approval_waiver_id"] if value]
    assert offered == [
        "MOU-2018-0611 · individual approval · Test waiver · expired: valid until 2018-12-31"
    ]
    response = as_admin.post(
        "/deliveries/new",
        data={
            "reference": "KLO-D-2018-40",
            "direction": "north",
            "planned_on": "2018-10-01",
            "approval_waiver_id": str(approval.id),
        },
    )
    assert response.status_code == 302
    delivery = session.scalars(select(Delivery).where(Delivery.reference == "KLO-D-2018-40")).one()
    assert delivery.approval_waiver_id == approval.id

    # A number typed before 0032 that names no approval shows as such until one is named.
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery.id)
        .values(approval_waiver_id=None, approval_number="MOU-CO-OLD", approval_type="blanket")
    )
    session.commit()
    page = read(as_admin.get(f"/deliveries/{delivery.id}"))
    assert page.marked["approval"] == (
        "MOU-CO-OLD (blanket approval) Recorded as text before approvals were named; it names "
        "none of the ministry's approvals."
    )


# --- the migration -------------------------------------------------------------------------


def test_the_migration_names_the_approval_whose_reference_was_typed_and_keeps_the_rest(tmp_path):
    with scratch_database(tmp_path) as url:
        engine = create_engine_for(url)
        try:
            migrate(engine, "0026")
            with engine.begin() as connection:
                for waiver_id, reference, authority in (
                    (1, "MOU-2018-0611", "rok_mou_individual"),
                    (2, "MOU-2018-B-0814", "rok_mou_blanket"),
                    (3, "UN1718-2018-01", "un_1718_committee"),
                ):
                    connection.execute(
                        text(
                            "INSERT INTO waivers (id, reference, authority, regime_id, standing, "
                            "title, purpose, status, created_at) VALUES (:id, :ref, :authority, "
                            "(SELECT id FROM regimes WHERE code = :regime), :standing, 't', '', "
                            "'granted', '2018-01-01 00:00:00')"
                        ),
                        {
                            "id": waiver_id,
                            "ref": reference,
                            "authority": authority,
                            "regime": "un" if authority.startswith("un") else "rok",
                            "standing": authority == "rok_mou_blanket",
                        },
                    )
                deliveries = [
                    (1, "north", "MOU-2018-0611", "individual"),  # an approval's reference
                    (2, "north", "MOU-2018-B-0814", "individual"),  # typed as individual
                    (3, "north", "mou-2018-0611", "individual"),  # not exactly
                    (4, "north", "UN1718-2018-01", "individual"),  # not a ministry approval
                    (5, "north", "MOU-CO-20180620", "blanket"),  # no such approval
                    (6, "north", "", "individual"),
                    (7, "south", "MOU-2018-0611", "individual"),  # carry-in: stays text
                ]
                for delivery_id, direction, number, kind in deliveries:
                    connection.execute(
                        text(
                            "INSERT INTO deliveries (id, reference, direction, planned_on, "
                            "crossing_point, carrier, vehicles, approval_number, approval_type, "
                            "customs_declaration, status, note, created_at) VALUES (:id, :ref, "
                            ":direction, '2018-06-20', 'Dorasan', '', '', :number, :kind, '', "
                            "'draft', '', '2018-06-01 00:00:00')"
                        ),
                        {
                            "id": delivery_id,
                            "ref": f"KLO-{delivery_id}",
                            "direction": direction,
                            "number": number,
                            "kind": kind,
                        },
                    )
            migrate(engine)
            columns = "id, approval_waiver_id, approval_number, approval_type"
            with engine.connect() as connection:
                rows = connection.execute(text(f"SELECT {columns} FROM deliveries ORDER BY id"))
                assert [tuple(row) for row in rows] == [
                    (1, 1, "", None),
                    (2, 2, "", None),  # a blanket approval: its type is its authority's
                    (3, None, "mou-2018-0611", "individual"),
                    (4, None, "UN1718-2018-01", "individual"),
                    (5, None, "MOU-CO-20180620", "blanket"),
                    (6, None, "", None),
                    (7, None, "MOU-2018-0611", "individual"),
                ]
            with Session(engine) as session:
                found = session.scalars(select(Delivery).order_by(Delivery.id))
                kinds = [delivery.approval_kind for delivery in found]
                assert kinds == [
                    ApprovalType.INDIVIDUAL,
                    ApprovalType.BLANKET,
                    ApprovalType.INDIVIDUAL,
                    ApprovalType.INDIVIDUAL,
                    ApprovalType.BLANKET,
                    None,
                    ApprovalType.INDIVIDUAL,
                ]
            migrate(engine, "0026", down=True)
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT id, approval_number, approval_type FROM deliveries ORDER BY id")
                )
                assert [tuple(row) for row in rows] == [
                    (1, "MOU-2018-0611", "individual"),
                    (2, "MOU-2018-B-0814", "blanket"),
                    (3, "mou-2018-0611", "individual"),
                    (4, "UN1718-2018-01", "individual"),
                    (5, "MOU-CO-20180620", "blanket"),
                    (6, "", "individual"),
                    (7, "MOU-2018-0611", "individual"),
                ]
        finally:
            engine.dispose()


# --- at once, for real -----------------------------------------------------------------------


def _app(url: str):
    return create_app(
        {"OFFICE_ENV": "development", "SECRET_KEY": TEST_SECRET_KEY, "OFFICE_DATABASE_URL": url},
        TESTING=True,
        WTF_CSRF_ENABLED=False,
    )


def _arrange_race(approved_steel: str, approved_copper: str, manifests):
    """Every regime in force; a UN exemption far beyond reach and a ministry approval of
    `approved_*` t; approved deliveries of (code, tonnes) naming the approval, each line on
    the exemption's line."""
    db.session.execute(update(Regime).values(in_force=True))
    admin = auth_services.create_user(
        db.session,
        email="admin@test.example",
        display_name="Admin",
        role=Role.ADMIN,
        password="correct horse battery",
        actor=None,
        now=NOW,
    )
    resources = {
        code: waivers.save_resource(
            db.session,
            code=code,
            name_ko=code,
            name_en=code.title(),
            hs_code=hs,
            unit="t",
            barrels_per_tonne=None,
            actor=None,
            now=NOW,
        )
        for code, hs in (("steel", "7216.10"), ("copper", "7403.11"))
    }
    waiver_lines = {}
    for reference, authority, caps in (
        ("UN1718-2018-01", "un_1718_committee", {"steel": "1000", "copper": "1000"}),
        (
            "MOU-2018-0611",
            "rok_mou_individual",
            {"steel": approved_steel, "copper": approved_copper},
        ),
    ):
        waiver = waivers.create_waiver(
            db.session,
            reference=reference,
            authority=authority,
            title="Race",
            status=WaiverStatus.GRANTED,
            valid_from=date(2018, 1, 1),
            valid_until=date(2018, 12, 31),
            lines=[waivers.LineSpec(resources[c], "t", q, q) for c, q in caps.items()],
            actor=None,
            now=NOW,
        )
        waiver_lines[authority] = {x.resource.code: x for x in waiver.lines}
    approval = waiver_lines["rok_mou_individual"]["steel"].waiver
    ids = []
    for n, manifest in enumerate(manifests, start=1):
        delivery = services.save_delivery(
            db.session,
            reference=f"KLO-R-{n:03d}",
            direction="north",
            planned_on=date(2018, 10, 1),
            approval=approval,
            actor=None,
            now=NOW,
        )
        for code, tonnes in manifest:
            services.add_line(
                db.session,
                delivery,
                services.LineInput(
                    resource=resources[code],
                    quantity=tonnes,
                    unit="t",
                    purpose="repair",
                    waiver_line=waiver_lines["un_1718_committee"][code],
                ),
                actor=None,
                now=NOW,
            )
        services.approve(db.session, delivery, actor=None, now=NOW)
        ids.append(delivery.id)
    db.session.commit()
    return admin, ids


def _cross_at_once(app, admin, ids: list[int]) -> list[int]:
    start = threading.Barrier(len(ids))

    def cross(delivery_id: int) -> int:
        client = log_in(app.test_client(), admin)
        start.wait(timeout=30)
        return client.post(
            f"/deliveries/{delivery_id}/cross", data={"on": "2018-10-01"}
        ).status_code

    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        return list(pool.map(cross, ids))


def _used(session: Session) -> dict[tuple[str, str], Decimal]:
    return {
        (line.waiver.reference, line.resource.code): line.used_base
        for line in session.scalars(select(WaiverLine))
    }


def test_deliveries_crossing_at_once_on_one_approval_line_never_pass_its_cap(tmp_path):
    # Ten deliveries of 1 t of steel and 1 t of copper, each line on the UN exemption and on
    # the approval's 6 t of steel and 4 t of copper: exactly four cross, whole.
    with migrated_scratch_engine(tmp_path) as engine:
        app = _app(engine.url.render_as_string(hide_password=False))
        with app.app_context():
            admin, ids = _arrange_race("6", "4", [[("steel", "1"), ("copper", "1")]] * 10)

        statuses = _cross_at_once(app, admin, ids)

        assert sorted(statuses) == [302] * 4 + [409] * 6
        with app.app_context():
            assert _used(db.session) == {
                ("UN1718-2018-01", "steel"): Decimal(4),
                ("UN1718-2018-01", "copper"): Decimal(4),
                ("MOU-2018-0611", "steel"): Decimal(4),
                ("MOU-2018-0611", "copper"): Decimal(4),
            }
            crossed = db.session.scalars(
                select(Delivery).where(Delivery.status == DeliveryStatus.CROSSED)
            ).all()
            assert len(crossed) == 4
            entries = db.session.scalars(select(DrawdownEntry)).all()
            assert len(entries) == 8 and not any(entry.flagged for entry in entries)
            assert {tuple(s.classification.value for s in e.screenings) for e in entries} == {
                ("covered", "covered", "not_required")
            }
            assert ledger.verify_chain(db.session) == (8, None)
            assert ledger.check_usage(db.session) == []
            db.session.close()
            db.engine.dispose()


def test_deliveries_taking_the_approvals_lines_in_opposite_order_all_cross(tmp_path):
    manifests = [
        [("steel", "1"), ("copper", "1")] if n % 2 else [("copper", "1"), ("steel", "1")]
        for n in range(12)
    ]
    with migrated_scratch_engine(tmp_path) as engine:
        app = _app(engine.url.render_as_string(hide_password=False))
        with app.app_context():
            admin, ids = _arrange_race("100", "100", manifests)

        statuses = _cross_at_once(app, admin, ids)

        assert statuses == [302] * len(ids)
        with app.app_context():
            assert set(_used(db.session).values()) == {Decimal(12)}
            assert ledger.verify_chain(db.session) == (24, None)
            assert ledger.check_usage(db.session) == []
            db.session.close()
            db.engine.dispose()
