"""Every route x every role: allowed, 403, or sent to log in when anonymous.

The table below is the specification. A route missing from it fails the coverage test, so a new
page cannot ship without someone deciding who may open it.
"""

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from werkzeug.routing import Rule

from office.alerts import services as alerts
from office.alerts.models import Notice, NoticeKind
from office.auth import services
from office.auth.permissions import Role
from office.documents import services as documents
from office.documents.demo import pdf_file
from office.documents.models import RecordType
from office.fuel import services as fuel
from office.jobs.models import Job
from office.repairs import services as repairs
from office.staffing.models import PlanProposal, ProposalStatus, Side
from office.supplies import services as supplies
from office.waivers.models import HsRule
from tests.conftest import log_in
from tests.factories import NOW, draw, make_person, make_resource, make_user, make_waiver, stay

EVERYONE = "everyone"  # anonymous included
LOGGED_IN = "logged-in"  # every role
SUPERUSER = frozenset({"superuser"})
LEDGER_READERS = frozenset({"admin", "reviewer", "superuser"})
ADMINS = frozenset({"admin", "superuser"})  # the demo superuser is an office administrator
REVIEWERS = frozenset({"reviewer"})
SCHEDULERS = frozenset({"scheduler"})
STAFFING_READERS = frozenset({"admin", "scheduler", "reviewer", "superuser"})
OPERATIONS_READERS = frozenset({"admin", "reviewer", "superuser"})
SUPPLIES_READERS = frozenset({"admin", "reviewer", "superuser"})
REVIEW_READERS = frozenset({"admin", "reviewer", "superuser"})
AUDIT_READERS = frozenset({"reviewer", "superuser"})
VIEWERS = ("admin", "scheduler", "reviewer", "superuser")

EXPECTED: dict[str, object] = {
    "static": EVERYONE,
    "auth.login": EVERYONE,
    "auth.language": EVERYONE,
    "auth.logout": LOGGED_IN,
    "auth.account": LOGGED_IN,
    "auth.create_token": LOGGED_IN,
    "auth.revoke_token": LOGGED_IN,
    "auth.end_session": LOGGED_IN,
    "two_factor.code": EVERYONE,  # the second step of a login, for whoever gave the password
    "two_factor.setup": LOGGED_IN,
    "two_factor.start": LOGGED_IN,
    "two_factor.confirm": LOGGED_IN,
    "two_factor.disable": LOGGED_IN,
    "two_factor.new_recovery_codes": LOGGED_IN,
    "two_factor.reset": SUPERUSER,
    "home.index": LOGGED_IN,
    "notices.dismiss": LOGGED_IN,
    "notices.index": LOGGED_IN,
    "notices.open_notice": LOGGED_IN,
    "notices.settings": LOGGED_IN,
    "notices.save_settings": LOGGED_IN,
    "home.healthz": EVERYONE,
    "home.favicon": EVERYONE,
    "users.index": SUPERUSER,
    "users.new": SUPERUSER,
    "users.detail": SUPERUSER,
    "users.set_password": SUPERUSER,
    "users.deactivate": SUPERUSER,
    "users.reactivate": SUPERUSER,
    "users.end_session": SUPERUSER,
    "users.revoke_token": SUPERUSER,
    "resources.index": LEDGER_READERS,
    "resources.create": REVIEWERS,
    "resources.detail": LEDGER_READERS,
    "resources.edit": REVIEWERS,
    "regimes.index": LEDGER_READERS,
    "regimes.edit": REVIEWERS,
    "regimes.save_rule": REVIEWERS,
    "regimes.delete_rule": REVIEWERS,
    "waivers.index": LEDGER_READERS,
    "waivers.detail": LEDGER_READERS,
    "waivers.new": REVIEWERS,
    "waivers.update": REVIEWERS,
    "waivers.change_status": REVIEWERS,
    "waivers.add_line": REVIEWERS,
    "waivers.grant_line": REVIEWERS,
    "ledger.index": LEDGER_READERS,
    "ledger.detail": LEDGER_READERS,
    "ledger.export": LEDGER_READERS,
    "ledger.export_page": LEDGER_READERS,
    "ledger.new": ADMINS,
    "ledger.reverse": ADMINS,
    "ledger.screening": LEDGER_READERS,
    "staffing.index": STAFFING_READERS,
    "staffing.today": STAFFING_READERS,
    "staffing.calendar": STAFFING_READERS,
    "staffing.people": STAFFING_READERS,
    "staffing.person": STAFFING_READERS,
    "staffing.export_people": STAFFING_READERS,
    "staffing.day": STAFFING_READERS,
    "staffing.crossing": STAFFING_READERS,
    "staffing.crossing_csv": STAFFING_READERS,
    "staffing.crossings": STAFFING_READERS,
    "staffing.rules": STAFFING_READERS,
    "staffing.feed": EVERYONE,  # the secret in the link is the key
    "staffing.new_person": SCHEDULERS,
    "staffing.update_person": SCHEDULERS,
    "staffing.renew_feed": SCHEDULERS,
    "staffing.import_people": SCHEDULERS,
    "staffing.add_stay": SCHEDULERS,
    "staffing.change_stay": SCHEDULERS,
    "staffing.remove_stay": SCHEDULERS,
    "staffing.set_duty": SCHEDULERS,
    "staffing.crossing_status": SCHEDULERS,
    "staffing.save_rules": SCHEDULERS,
    "staffing.plan": SCHEDULERS,
    "staffing.proposal": SCHEDULERS,
    "staffing.accept_proposal": SCHEDULERS,
    "staffing.discard_proposal": SCHEDULERS,
    "operations.index": OPERATIONS_READERS,
    "operations.today": OPERATIONS_READERS,
    "operations.day": OPERATIONS_READERS,
    "operations.pick_day": OPERATIONS_READERS,
    "operations.correct": ADMINS,
    "operations.tanks": OPERATIONS_READERS,
    "operations.tank": OPERATIONS_READERS,
    "operations.equipment": OPERATIONS_READERS,
    "operations.per_person": OPERATIONS_READERS,
    "operations.petroleum": OPERATIONS_READERS,
    "operations.petroleum_csv": OPERATIONS_READERS,
    "operations.petroleum_pdf": OPERATIONS_READERS,
    "operations.print_petroleum": OPERATIONS_READERS,
    "operations.receive": ADMINS,
    "operations.issue": ADMINS,
    "operations.return_south": ADMINS,
    "operations.dip": ADMINS,
    "operations.generator_hours": ADMINS,
    "operations.meter_reading": ADMINS,
    "operations.notes": ADMINS,
    "operations.sign_off": ADMINS,
    "operations.void_movement": ADMINS,
    "operations.void_reading": ADMINS,
    "operations.create_tank": ADMINS,
    "operations.create_generator": ADMINS,
    "operations.create_meter": ADMINS,
    "operations.replace_meter": ADMINS,
    "deliveries.index": SUPPLIES_READERS,
    "deliveries.detail": SUPPLIES_READERS,
    "deliveries.stock": SUPPLIES_READERS,
    "deliveries.stock_export": SUPPLIES_READERS,
    "deliveries.stock_export_page": SUPPLIES_READERS,
    "deliveries.new": ADMINS,
    "deliveries.update": ADMINS,
    "deliveries.add_line": ADMINS,
    "deliveries.add_return_line": ADMINS,
    "deliveries.remove_line": ADMINS,
    "deliveries.approve": ADMINS,
    "deliveries.cross": ADMINS,
    "deliveries.receive": ADMINS,
    "deliveries.reject": ADMINS,
    "repairs.index": SUPPLIES_READERS,
    "repairs.detail": SUPPLIES_READERS,
    "repairs.new": ADMINS,
    "repairs.update": ADMINS,
    "repairs.status": ADMINS,
    "repairs.progress": ADMINS,
    "repairs.use_material": ADMINS,
    "repairs.add_cost": ADMINS,
    "repairs.assign_equipment": ADMINS,
    "reviews.dashboard": REVIEW_READERS,
    "reviews.queue": REVIEW_READERS,
    "reviews.item": REVIEW_READERS,
    "reviews.comment": REVIEW_READERS,
    "reviews.query": REVIEWERS,
    "reviews.escalate": REVIEWERS,
    "reviews.acknowledge": REVIEWERS,
    "reviews.reopen": REVIEWERS,
    "reviews.answer": ADMINS,
    "reviews.months": REVIEW_READERS,
    "reviews.sign_off": REVIEWERS,
    "reviews.report": REVIEW_READERS,
    "reviews.report_pdf": REVIEW_READERS,
    "reviews.print_report": REVIEW_READERS,
    "reviews.report_csv": REVIEW_READERS,
    # Documents follow their record, here a waiver: who may see it reads its documents, who
    # may change it attaches; to anyone else they are not there (404, counted as refused).
    "documents.record": LEDGER_READERS,
    "documents.upload": REVIEWERS,
    "documents.detail": LEDGER_READERS,
    "documents.download": LEDGER_READERS,
    "documents.preview": LEDGER_READERS,
    "documents.supersede": REVIEWERS,
    "documents.withdraw": REVIEWERS,
    "audit.index": AUDIT_READERS,
    "audit.export": AUDIT_READERS,
    "audit.export_page": AUDIT_READERS,
    # Anyone logged in has jobs; a job that is not theirs is a 404 (tests/jobs).
    "jobs.index": LOGGED_IN,
    "jobs.detail": LOGGED_IN,
    "jobs.status": LOGGED_IN,
    "jobs.cancel": LOGGED_IN,
    "jobs.download": LOGGED_IN,
    # The API answers bearer tokens only (tested below with tokens).
    "api.openapi": EVERYONE,
    "api.resources": LEDGER_READERS,
    "api.regimes": LEDGER_READERS,
    "api.create_resource": REVIEWERS,
    "api.create_waiver": REVIEWERS,
    "api.waiver": LEDGER_READERS,
    "api.change_status": REVIEWERS,
    "api.record_drawdown": ADMINS,
    "api.drawdowns": LEDGER_READERS,
    "api.reverse": ADMINS,
    "api.staffing_violations": STAFFING_READERS,
    "api.screen_item": LEDGER_READERS,
    "api.meters": OPERATIONS_READERS,
    "api.create_meter": ADMINS,
    "api.replace_meter": ADMINS,
    "api.meter_readings": OPERATIONS_READERS,
    "api.meter_reading": OPERATIONS_READERS,
    "api.record_meter_reading": ADMINS,
    "api.record_meter_readings": ADMINS,
    "api.void_meter_reading": ADMINS,
    "api.generators": OPERATIONS_READERS,
    "api.create_generator": ADMINS,
    "api.tanks": OPERATIONS_READERS,
    "api.create_tank": ADMINS,
    "api.generator_readings": OPERATIONS_READERS,
    "api.record_generator_hours": ADMINS,
    "api.receive_fuel": ADMINS,
    "api.issue_fuel": ADMINS,
    "api.return_fuel": ADMINS,
    "api.fuel_movements": OPERATIONS_READERS,
    "api.fuel_movement": OPERATIONS_READERS,
    "api.void_fuel_movement": ADMINS,
    "api.record_dip": ADMINS,
    "api.fuel_dips": OPERATIONS_READERS,
    "api.daily_log": OPERATIONS_READERS,
    "api.save_daily_log": ADMINS,
    "api.sign_off_daily_log": ADMINS,
    "api.staff_people": STAFFING_READERS,
    "api.staff_person": STAFFING_READERS,
    "api.add_staff_person": SCHEDULERS,
    "api.change_staff_person": SCHEDULERS,
    "api.staff_people_csv": STAFFING_READERS,
    "api.import_staff_people": SCHEDULERS,
    "api.staff_person_feed": SCHEDULERS,
    "api.renew_staff_person_feed": SCHEDULERS,
    "api.staff_stays": STAFFING_READERS,
    "api.staff_stay": STAFFING_READERS,
    "api.add_staff_stay": SCHEDULERS,
    "api.change_staff_stay": SCHEDULERS,
    "api.remove_staff_stay": SCHEDULERS,
    "api.staff_duty": STAFFING_READERS,
    "api.staffing_rules": STAFFING_READERS,
    "api.staffing_side_rules": STAFFING_READERS,
    "api.save_staffing_rules": SCHEDULERS,
    "api.crossing_month": STAFFING_READERS,
    "api.crossing_list": STAFFING_READERS,
    "api.crossing_list_csv": STAFFING_READERS,
    "api.mark_crossing_list": SCHEDULERS,
    "api.ask_for_plan": SCHEDULERS,
    "api.plan_job": SCHEDULERS,
    "api.plan_proposals": SCHEDULERS,
    "api.plan_proposal": SCHEDULERS,
    "api.accept_plan": SCHEDULERS,
    "api.discard_plan": SCHEDULERS,
    "api.set_staff_duty": SCHEDULERS,
    "api.deliveries": SUPPLIES_READERS,
    "api.delivery": SUPPLIES_READERS,
    "api.create_delivery": ADMINS,
    "api.update_delivery": ADMINS,
    "api.add_delivery_line": ADMINS,
    "api.add_delivery_return_line": ADMINS,
    "api.remove_delivery_line": ADMINS,
    "api.approve_delivery": ADMINS,
    "api.cross_delivery": ADMINS,
    "api.receive_delivery": ADMINS,
    "api.reject_delivery": ADMINS,
    "api.stock_lots": SUPPLIES_READERS,
    "api.work_orders": SUPPLIES_READERS,
    "api.work_order": SUPPLIES_READERS,
    "api.create_work_order": ADMINS,
    "api.update_work_order": ADMINS,
    "api.change_work_order_status": ADMINS,
    "api.set_work_order_progress": ADMINS,
    "api.use_work_order_material": ADMINS,
    "api.add_work_order_cost": ADMINS,
    "api.assign_work_order_equipment": ADMINS,
    "api.review_queue": REVIEW_READERS,
    "api.review_item": REVIEW_READERS,
    "api.review_comment": REVIEW_READERS,
    "api.review_query": REVIEWERS,
    "api.review_escalate": REVIEWERS,
    "api.review_acknowledge": REVIEWERS,
    "api.review_reopen": REVIEWERS,
    "api.review_answer": ADMINS,
    "api.review_months": REVIEW_READERS,
    "api.sign_off_month": REVIEWERS,
    "api.month_report": REVIEW_READERS,
    "api.month_report_csv": REVIEW_READERS,
    "api.month_report_pdf": REVIEW_READERS,
    "api.print_month_report": REVIEW_READERS,
    "api.report_job": REVIEW_READERS,
    "api.report_job_file": REVIEW_READERS,
    "api.petroleum_report": OPERATIONS_READERS,
    "api.petroleum_report_csv": OPERATIONS_READERS,
    "api.petroleum_report_pdf": OPERATIONS_READERS,
    "api.print_petroleum_report": OPERATIONS_READERS,
    "api.audit_trail": AUDIT_READERS,
    # As on the pages, the record decides (here a waiver's letter): a document of a record one
    # may not see is not there (404, counted as refused). The listing and the upload name
    # their record in the query or the form: asked without one, they refuse everyone alike
    # (422, 415); tests/api/test_documents_api.py asks each role with a record.
    "api.documents": LOGGED_IN,
    "api.document": LEDGER_READERS,
    "api.document_file": LEDGER_READERS,
    "api.attach_document": LOGGED_IN,
    "api.supersede_document": REVIEWERS,
    "api.withdraw_document": REVIEWERS,
}


def allowed(endpoint: str, viewer: str) -> bool:
    rule = EXPECTED[endpoint]
    if rule in (EVERYONE, LOGGED_IN):
        return True
    return viewer in rule


def test_matrix_covers_every_route(app):
    assert set(EXPECTED) == set(app.view_functions)


def make_viewer(session, viewer: str):
    if viewer == "superuser":
        return make_user(session, Role.ADMIN, superuser=True)
    return make_user(session, Role(viewer))


def arrange(session, viewer_user) -> dict[str, int]:
    """One of everything a route may name, so every URL can be built and answered."""
    diesel = make_resource(session)
    waiver = make_waiver(session, [(diesel, "L", "1000", "1000")])
    entry = draw(session, diesel, "10", line=waiver.lines[0])
    rule = session.scalar(select(HsRule).limit(1))
    token_owner = viewer_user or make_user(session)
    token, _secret = services.create_api_token(session, token_owner, name="t", actor=None, now=NOW)
    # Another browser of the viewer's: ending it leaves the viewer's own session alone.
    other_session, _key = services.start_session(
        session, token_owner, now=NOW, remote_addr=None, user_agent=None
    )
    person = make_person(session)
    person_stay = stay(session, person, date(2018, 10, 1), date(2018, 10, 5))
    proposal = PlanProposal(
        side=Side.SOUTH,
        first_day=date(2018, 10, 1),
        last_day=date(2018, 10, 2),
        status=ProposalStatus.PROPOSED,
        plan={"people": [], "stays": [], "nights": []},
    )
    session.add(proposal)
    job = Job(kind="audit_export", owner_id=token_owner.id, params={}, task_id="t")
    session.add(job)
    tank = fuel.create_tank(
        session,
        name="T",
        product=diesel,
        capacity="5000",
        tolerance=None,
        location="",
        opening="1000",
        opened_on=date(2018, 9, 1),
        actor=None,
        now=NOW,
    )
    issue = fuel.issue_fuel(
        session, tank, quantity="10", issued_on=date(2018, 10, 1), use="boiler", actor=None, now=NOW
    )
    meter = fuel.add_meter(
        session,
        name="M",
        source="generator",
        waiver_line=None,
        digits=6,
        multiplier="1",
        installed_at=NOW - timedelta(days=3),
        first_value="10",
        actor=None,
        now=NOW,
    )
    reading = fuel.record_meter_reading(
        session, meter, value="20", read_at=NOW, actor=None, now=NOW
    )
    delivery = supplies.save_delivery(
        session,
        reference="D-1",
        direction="north",
        planned_on=date(2018, 10, 1),
        actor=None,
        now=NOW,
    )
    delivery_line = supplies.add_line(
        session,
        delivery,
        supplies.LineInput(resource=diesel, quantity="5", unit="L", purpose="fuel"),
        actor=None,
        now=NOW,
    )
    order = repairs.save_work_order(
        session,
        number="W-1",
        area="power",
        room="",
        description="Cabling",
        contractor="",
        budget_krw="1000",
        funding_decision="",
        planned_start=date(2018, 10, 1),
        planned_end=date(2018, 10, 2),
        actor=None,
        now=NOW,
    )
    notice = Notice(
        kind=NoticeKind.WAIVER_EXPIRING,
        key="waiver_expiring:permissions",
        audience=alerts.audience(*Role),
        facts={"waiver": waiver.reference, "until": "2018-12-31"},
        endpoint="waivers.detail",
        endpoint_args={"waiver_id": waiver.id},
        raised_on=date(2018, 10, 1),
        raised_at=NOW,
    )
    session.add(notice)
    letter = documents.attach_to(
        session,
        RecordType.WAIVER,
        waiver.id,
        documents.Upload(
            io.BytesIO(pdf_file(["Exemption letter"])),
            "letter.pdf",
            "Exemption letter",
            "exemption_letter",
        ),
        actor=token_owner,
        now=NOW,
        max_bytes=1024 * 1024,
    )
    session.commit()
    return {
        "record_type": "waiver",
        "key": str(waiver.id),
        "document_id": letter.id,
        "notice_id": notice.id,
        "kind": "override",
        "source_id": entry.id,
        "month": "2018-10",
        "delivery_id": delivery.id,
        "delivery_line_id": delivery_line.id,
        "work_order_id": order.id,
        "tank_id": tank.id,
        "movement_id": issue.id,
        "meter_id": meter.id,
        "reading_id": reading.id,
        "person_id": person.id,
        "stay_id": person_stay.id,
        "proposal_id": proposal.id,
        "day": "2018-10-01",
        "side": "south",
        "token": person.feed_token,
        "user_id": make_user(session, Role.SCHEDULER).id,
        "waiver_id": waiver.id,
        "line_id": waiver.lines[0].id,
        "entry_id": entry.id,
        "resource_id": diesel.id,
        "rule_id": rule.id,
        "regime_id": rule.regime_id,
        "token_id": token.id,
        "session_id": other_session.id,
        "filename": "css/office.css",
        "fmt": "csv",
        "job_id": job.id,
    }


def request_for(rule: Rule, ids: dict[str, int]) -> tuple[str, str]:
    args = {name: ids[name] for name in rule.arguments}
    method = "GET" if "GET" in rule.methods else "POST"
    return method, rule.build(args, append_unknown=False)[1]


def routes(app, api: bool):
    # Logging out ends the viewer's session, so it goes last.
    return sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.") == api),
        key=lambda r: (r.endpoint == "auth.logout", r.endpoint),
    )


def outcome(response, endpoint: str) -> str:
    if response.status_code == 404 and (
        endpoint.startswith("documents.") or endpoint.endswith(("document", "document_file"))
    ):
        return "forbidden"  # a document of a record one may not see is not there for them
    if response.status_code in (401, 403):
        return "forbidden" if response.status_code == 403 else "login"
    if response.status_code >= 500:
        return "error"
    sent_to_login = response.status_code == 302 and response.headers["Location"].startswith(
        "/login"
    )
    # Logging out, and a code step that nobody's password began, end on the login page.
    if sent_to_login and endpoint not in ("auth.logout", "two_factor.code"):
        return "login"
    return "allowed"


def expectation(endpoint: str, viewer: str) -> str:
    if viewer == "anonymous":
        if EXPECTED[endpoint] == EVERYONE or endpoint == "auth.logout":
            return "allowed"  # logging out anonymously just lands on the login page
        return "login"
    return "allowed" if allowed(endpoint, viewer) else "forbidden"


@pytest.mark.parametrize("viewer", ["anonymous", *VIEWERS])
def test_every_page_answers_each_role_as_specified(app, client, session, viewer):
    user = None
    if viewer != "anonymous":
        make_user(session, Role.ADMIN, superuser=True)  # so no action removes the last one
        user = make_viewer(session, viewer)
        log_in(client, user)
    ids = arrange(session, user)
    failures = []
    for rule in routes(app, api=False):
        method, url = request_for(rule, ids)
        response = client.open(url, method=method)
        got = outcome(response, rule.endpoint)
        response.close()
        if got != expectation(rule.endpoint, viewer):
            failures.append(
                f"{method} {url}: expected {expectation(rule.endpoint, viewer)}, "
                f"got {response.status_code}"
            )
    assert failures == []


@pytest.mark.parametrize("viewer", ["anonymous", *VIEWERS])
def test_every_api_route_answers_each_roles_token_as_specified(app, client, session, viewer):
    headers = {}
    user = None
    if viewer != "anonymous":
        user = make_viewer(session, viewer)
        _row, secret = services.create_api_token(session, user, name="m", actor=None, now=NOW)
        session.commit()
        headers = {"Authorization": f"Bearer {secret}"}
        log_in(client, user)  # a browser session must not stand in for the token
    ids = arrange(session, user)
    failures = []
    for rule in routes(app, api=True):
        method, url = request_for(rule, ids)
        response = client.open(url, method=method, headers=headers)
        got = outcome(response, rule.endpoint)
        response.close()  # a document's file is streamed: end its request before the next
        if response.status_code in (401, 403):
            assert response.mimetype == "application/problem+json", url
        if got != expectation(rule.endpoint, viewer):
            failures.append(
                f"{method} {url}: expected {expectation(rule.endpoint, viewer)}, "
                f"got {response.status_code}"
            )
    assert failures == []


def test_a_session_cookie_alone_does_not_open_the_api(client, session):
    log_in(client, make_user(session, Role.REVIEWER))
    response = client.get("/api/v1/resources")
    assert response.status_code == 401
    assert response.json["status"] == 401


def test_forbidden_page_explains_and_keeps_the_navigation(client, session):
    log_in(client, make_user(session, Role.REVIEWER))
    response = client.get("/users/")
    assert response.status_code == 403
    assert b"Your role does not give access to this page." in response.data


@pytest.mark.parametrize(
    ("viewer", "visible", "hidden"),
    [
        ("admin", [b'href="/"', b'href="/ledger/new"', b'href="/waivers/"'], [b'href="/users/"']),
        ("scheduler", [b'href="/"'], [b'href="/users/"', b'href="/waivers/"', b'href="/ledger/"']),
        (
            "reviewer",
            [b'href="/"', b'href="/waivers/"', b'href="/resources/"'],
            [b'href="/users/"', b'href="/ledger/new"'],
        ),
        ("superuser", [b'href="/"', b'href="/users/"', b'href="/ledger/new"'], []),
    ],
)
def test_navigation_shows_only_what_the_role_may_open(client, session, viewer, visible, hidden):
    log_in(client, make_viewer(session, viewer))
    page = client.get("/").data
    nav = page[page.index(b'class="main-nav"') : page.index(b"</nav>")]
    for link in visible:
        assert link in nav
    for link in hidden:
        assert link not in nav
