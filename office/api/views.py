from __future__ import annotations

from typing import Annotated, Any, TypeVar

from flask import Blueprint, Response, jsonify, request, url_for
from flask_login import current_user
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from office import inputs
from office.api import schemas
from office.api.idempotency import commit
from office.api.openapi import (
    CURSOR_PATTERN,
    REGIME_CLASSIFICATION_CODES,
    REGIME_CODES,
    openapi_document,
)
from office.auth.access import permission_required, public
from office.auth.permissions import Permission
from office.db import db, utcnow
from office.errors import DomainError, NotFoundError, problem
from office.i18n import _, current_locale_code
from office.staffing import services as staffing_services
from office.waivers import ledger, screening, services
from office.waivers.models import (
    Classification,
    DrawdownEntry,
    Regime,
    Resource,
    ResourceControl,
    Waiver,
    WaiverLine,
)
from office.waivers.queries import NOT_CHECKED, LedgerFilters, ledger_page
from office.waivers.regimes import all_regimes
from office.waivers.units import Unit

bp = Blueprint("api", __name__, url_prefix="/api/v1")
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
MAX_ID = inputs.MAX_ID


class InvalidRequest(Exception):
    """The request could not be read (400) or its fields are wrong (422)."""

    def __init__(self, status: int, detail: str, errors: dict[str, list[str]] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors


def _message(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("This field is not part of the request.")
    if kind in ("string_type", "string_unicode"):
        return _("Must be a string.")
    if kind == "string_too_long":
        return _("Must have at most %(n)d characters.", n=ctx.get("max_length", 0))
    if kind == "string_too_short":
        return _("Must not be empty.")
    if kind in ("decimal_type", "decimal_parsing", "finite_number", "float_parsing"):
        return _('Must be a finite decimal number, as a JSON number or a string such as "12.5".')
    if kind.startswith("date"):
        return _("Must be a real date written YYYY-MM-DD.")
    if kind.startswith("int"):
        return _("Must be a whole number.")
    if kind.startswith("bool"):
        return _("Must be true or false.")
    if kind in ("enum", "literal_error"):
        return _("Must be one of: %(choices)s.", choices=ctx.get("expected", ""))
    if kind in ("list_type", "too_long"):
        return _("Must be a list of at most %(n)d items.", n=ctx.get("max_length", 500))
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return _("Must be a JSON object.")
    if kind in ("greater_than_equal", "greater_than"):
        return _("Must be at least %(n)s.", n=ctx.get("ge", ctx.get("gt", "")))
    if kind in ("less_than_equal", "less_than"):
        return _("Must be at most %(n)s.", n=ctx.get("le", ctx.get("lt", "")))
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") in (inputs.LINE_PATTERN, inputs.MULTILINE_PATTERN):
            multiline = ctx["pattern"] == inputs.MULTILINE_PATTERN
            return str(inputs.text_error(error.get("input"), multiline=multiline))
        if ctx.get("pattern") == schemas.ORIGIN_PATTERN:
            return _("The origin is a two-letter country code (ISO 3166), e.g. KR or US.")
        return _("Not a value this parameter takes.")
    return str(error.get("msg", kind))


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "body"
        errors.setdefault(key, []).append(_message(error))
    return errors


def parse_body(model: type[M]) -> M:
    try:
        return model.model_validate_json(request.get_data() or b"")
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise InvalidRequest(400, _("The request body is not valid JSON.")) from None
        raise InvalidRequest(422, _("Some fields are not valid."), _errors(exc)) from None


def invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(422, _("Some fields are not valid."), {field: [message]})


@bp.errorhandler(InvalidRequest)
def _invalid_request(exc: InvalidRequest) -> Response:
    if exc.errors is None:
        return problem(exc.status, exc.detail)
    return problem(exc.status, exc.detail, errors=exc.errors)


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> Response:
    db.session.rollback()
    members: dict[str, Any] = {}
    if isinstance(exc, ledger.DrawdownRefused):
        members["classification"] = exc.classification.value
        members["regimes"] = [
            {
                "regime": s.regime.code,
                "control": s.control.value,
                "line_id": s.line.id if s.line is not None else None,
                "waiver_status": s.waiver.status.value if s.waiver is not None else None,
                "classification": s.classification.value,
                "message": str(m) if (m := exc.message_of(s)) is not None else None,
            }
            for s in exc.regimes
        ]
    elif exc.status_code == 422:
        members["errors"] = {exc.field or "body": [str(exc)]}
    return problem(exc.status_code, str(exc), **members)


def respond(body: BaseModel, status: int = 200, location: str | None = None) -> Response:
    """Answer with `body` as JSON (pydantic writes it, in its fields' order)."""
    response = Response(body.model_dump_json(), status, mimetype="application/json")
    if location is not None:
        response.headers["Location"] = location
    return response


# --- representations ----------------------------------------------------------------------


def resource_out(resource: Resource) -> schemas.ResourceOut:
    return schemas.ResourceOut(
        code=resource.code,
        name=resource.name_en,
        name_ko=resource.name_ko,
        hs_code=resource.hs_code,
        unit=resource.unit.value,
        control=resource.control,
        barrels_per_tonne=resource.barrels_per_tonne,
        petroleum_kind=resource.petroleum_kind,
        effective_barrels_per_tonne=resource.effective_barrels_per_tonne,
        barrels_per_tonne_is_default=resource.barrels_per_tonne_is_default,
        origin=resource.origin,
        us_content_percent=resource.us_content_percent,
        controls=[
            schemas.ControlOut(
                regime=c.regime.code,
                control=c.control,
                basis=c.basis,
                rule_prefix=c.rule.prefix if c.rule is not None else None,
            )
            for c in sorted(resource.controls, key=lambda c: c.regime.position)
        ],
    )


def regime_out(regime: Regime) -> schemas.RegimeOut:
    return schemas.RegimeOut(
        code=regime.code,
        name=regime.name_en,
        name_ko=regime.name_ko,
        position=regime.position,
        in_force=regime.in_force,
        default_control=regime.default_control,
        us_content_rule=regime.us_content_rule,
        us_content_threshold=regime.us_content_threshold,
        note=regime.note,
        rules=[
            schemas.HsRuleOut(prefix=rule.prefix, control=rule.control, note=rule.note)
            for rule in regime.rules
        ],
    )


def waiver_out(waiver: Waiver) -> schemas.WaiverOut:
    lines = []
    for line in waiver.lines:
        usage = services.line_usage(line)
        lines.append(
            schemas.WaiverLineOut(
                id=line.id,
                line_no=line.line_no,
                resource=line.resource.code,
                unit=line.unit.value,
                requested_quantity=line.requested_quantity,
                granted_quantity=line.granted_quantity,
                used=usage.used,
                remaining=usage.remaining,
            )
        )
    return schemas.WaiverOut(
        id=waiver.id,
        reference=waiver.reference,
        authority=waiver.authority,
        regime=waiver.regime.code,
        standing=waiver.standing,
        title=waiver.title,
        purpose=waiver.purpose,
        status=waiver.status,
        valid_from=waiver.valid_from,
        valid_until=waiver.valid_until,
        lines=lines,
    )


def drawdown_out(entry: DrawdownEntry) -> schemas.DrawdownOut:
    return schemas.DrawdownOut(
        id=entry.id,
        seq=entry.seq,
        resource=entry.resource.code,
        quantity=entry.quantity,
        unit=entry.unit.value,
        base_quantity=entry.base_quantity,
        occurred_on=entry.occurred_on,
        recorded_at=entry.recorded_at,
        purpose=entry.purpose,
        waiver_line_id=entry.waiver_line_id,
        waiver_status=entry.waiver_status,
        classification=entry.classification,
        regimes=[
            schemas.ScreeningOut(
                regime=s.regime.code,
                control=s.control,
                line_id=s.waiver_line_id,
                waiver_status=s.waiver_status,
                classification=s.classification,
            )
            for s in entry.screenings
        ],
        flagged=entry.flagged,
        override_reason=entry.override_reason,
        reverses_id=entry.reverses_id,
        hash=entry.hash,
    )


def _get(model: type[R], id_: int) -> R | None:
    return db.session.get(model, id_) if 0 < id_ <= MAX_ID else None


def found(model: type[R], id_: int, missing: str) -> R:
    """The row `id_` of `model`; a 404 problem saying `missing` when there is none."""
    row = _get(model, id_)
    if row is None:
        raise NotFoundError(missing)
    return row


def _unit(value: str, field: str) -> Unit:
    try:
        return Unit(value)
    except ValueError:
        raise invalid(field, _("Unknown unit %(unit)s.", unit=value[:20])) from None


def _resource(code: str, field: str) -> Resource:
    resource = services.find_resource(db.session, code)
    if resource is None:
        raise _no_resource(code, field)
    return resource


def _no_resource(code: str, field: str) -> InvalidRequest:
    return invalid(field, _("No resource has the code %(code)s.", code=code[:40]))


# --- routes -------------------------------------------------------------------------------


@bp.get("/openapi.json")
@public
def openapi() -> Response:
    return jsonify(openapi_document())


@bp.get("/resources")
@permission_required(Permission.VIEW_LEDGER)
def resources() -> Response:
    rows = db.session.scalars(
        select(Resource)
        .order_by(Resource.code, Resource.id)
        .options(
            selectinload(Resource.controls).options(
                selectinload(ResourceControl.regime), selectinload(ResourceControl.rule)
            )
        )
    )
    return respond(schemas.ResourceList(items=[resource_out(r) for r in rows]))


@bp.get("/regimes")
@permission_required(Permission.VIEW_LEDGER)
def regimes() -> Response:
    rows = db.session.scalars(
        select(Regime).order_by(Regime.position).options(selectinload(Regime.rules))
    )
    return respond(schemas.RegimeList(items=[regime_out(r) for r in rows]))


@bp.post("/resources")
@permission_required(Permission.MANAGE_CATALOGUE)
def create_resource() -> Response:
    body = parse_body(schemas.ResourceIn)
    resource = services.save_resource(
        db.session,
        code=body.code,
        name_ko=body.name_ko or body.name,
        name_en=body.name,
        hs_code=body.hs_code,
        unit=body.unit,
        barrels_per_tonne=body.barrels_per_tonne,
        origin=body.origin,
        # Fixed-point, so that 1e2 reads as 100.
        us_content_percent=format(body.us_content_percent, "f"),
        petroleum_kind=body.petroleum_kind,
        actor=current_user,
        now=utcnow(),
    )
    return commit(respond(resource_out(resource), 201, url_for("api.resources")))


@bp.post("/waivers")
@permission_required(Permission.MANAGE_WAIVERS)
def create_waiver() -> Response:
    body = parse_body(schemas.WaiverIn)
    lines = [
        services.LineSpec(
            resource=_resource(line.resource, f"lines.{index}.resource"),
            unit=_unit(line.unit, f"lines.{index}.unit"),
            requested_quantity=line.requested_quantity,
            granted_quantity=line.granted_quantity,
        )
        for index, line in enumerate(body.lines)
    ]
    waiver = services.create_waiver(
        db.session,
        reference=body.reference,
        authority=body.authority,
        title=body.title,
        purpose=body.purpose,
        status=body.status,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        lines=lines,
        standing=body.standing,
        actor=current_user,
        now=utcnow(),
    )
    # create_waiver leaves each line in waiver.lines twice (once through the backref); read
    # the lines back so the response lists each once.
    db.session.flush()
    db.session.expire(waiver, ["lines"])
    return commit(respond(waiver_out(waiver), 201, url_for("api.waiver", waiver_id=waiver.id)))


def _waiver_or_404(waiver_id: int) -> Waiver:
    return found(Waiver, waiver_id, _("No waiver has the id %(id)d.", id=waiver_id))


@bp.get("/waivers/<int:waiver_id>")
@permission_required(Permission.VIEW_LEDGER)
def waiver(waiver_id: int) -> Response:
    return respond(waiver_out(_waiver_or_404(waiver_id)))


@bp.post("/waivers/<int:waiver_id>/status")
@permission_required(Permission.MANAGE_WAIVERS)
def change_status(waiver_id: int) -> Response:
    waiver = _waiver_or_404(waiver_id)
    body = parse_body(schemas.StatusIn)
    waiver = services.change_waiver_status(
        db.session,
        waiver,
        body.status,
        effective_on=body.effective_on,
        note=body.note,
        actor=current_user,
        now=utcnow(),
    )
    return commit(respond(waiver_out(waiver)))


@bp.post("/drawdowns")
@permission_required(Permission.RECORD_DRAWDOWN)
def record_drawdown() -> Response:
    body = parse_body(schemas.DrawdownIn)
    resource = _resource(body.resource, "resource")
    line = None
    if body.waiver_line_id is not None:
        if body.authorisations is not None:
            raise invalid(
                "waiver_line_id",
                _("Give either waiver_line_id (the short form) or authorisations, not both."),
            )
        line = _get(WaiverLine, body.waiver_line_id)
        if line is None:
            raise invalid(
                "waiver_line_id", _("No waiver line has the id %(id)d.", id=body.waiver_line_id)
            )
    authorisations = [
        _authorisation(given, f"authorisations.{n}")
        for n, given in enumerate(body.authorisations or ())
    ]
    entry = ledger.record_drawdown(
        db.session,
        resource=resource,
        quantity=body.quantity,
        unit=body.unit,
        occurred_on=body.occurred_on,
        waiver_line=line,
        authorisations=authorisations,
        purpose=body.purpose,
        note=body.note,
        override_reason=body.override_reason,
        actor=current_user,
        now=utcnow(),
    )
    return commit(respond(drawdown_out(entry), 201, url_for("api.drawdowns")))


def _authorisation(given: schemas.AuthorisationIn, field: str) -> WaiverLine:
    line = _get(WaiverLine, given.line_id)
    if line is None:
        raise invalid(f"{field}.line_id", _("No waiver line has the id %(id)d.", id=given.line_id))
    if line.waiver.regime.code != given.regime:
        raise invalid(
            f"{field}.regime",
            _(
                "Waiver %(ref)s line %(n)d is under %(regime)s (%(code)s), not %(given)s.",
                ref=line.waiver.reference,
                n=line.line_no,
                regime=line.waiver.regime.shown_name,
                code=line.waiver.regime.code,
                given=given.regime,
            ),
        )
    return line


def _true_or_false(value: object) -> object:
    # Only the two words the OpenAPI document gives, not pydantic's "yes", "on", "1" or "t".
    if isinstance(value, str) and value not in ("true", "false"):
        raise PydanticCustomError("bool_parsing", "Input should be true or false")
    return value


def _one_of(choices: tuple[str, ...]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in choices:
            raise PydanticCustomError(
                "enum", "Input should be one of {expected}", {"expected": ", ".join(choices)}
            )
        return value

    return AfterValidator(check)


RegimeCode = Annotated[str, _one_of(REGIME_CODES)]


class DrawdownQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    waiver_id: Annotated[schemas.QueryInt, Field(ge=1, le=MAX_ID)] | None = None
    classification: Classification | None = None
    regime: RegimeCode | None = None
    regime_classification: Annotated[str, _one_of(REGIME_CLASSIFICATION_CODES)] | None = None
    covered_under: RegimeCode | None = None
    not_covered_under: RegimeCode | None = None
    flagged: Annotated[bool, BeforeValidator(_true_or_false)] | None = None
    date_from: Annotated[schemas.IsoDate | None, Field(alias="from")] = None
    date_to: Annotated[schemas.IsoDate | None, Field(alias="to")] = None
    cursor: Annotated[str | None, Field(pattern=CURSOR_PATTERN)] = None
    limit: Annotated[schemas.QueryInt, Field(ge=1, le=500)] = 100


@bp.get("/drawdowns")
@permission_required(Permission.VIEW_LEDGER)
def drawdowns() -> Response:
    args = {key: value for key, value in request.args.items() if value != ""}
    try:
        query = DrawdownQuery.model_validate(args)
    except ValidationError as exc:
        raise InvalidRequest(422, _("Some parameters are not valid."), _errors(exc)) from None
    if query.regime_classification is not None and query.regime is None:
        raise invalid(
            "regime_classification",
            _("Name the regime it is classified under: regime=un, rok or us."),
        )
    if query.covered_under is not None and query.covered_under == query.not_covered_under:
        raise invalid(
            "not_covered_under", _("Name a regime other than the one it is covered under.")
        )
    regimes = {regime.code: regime.id for regime in all_regimes(db.session)}
    under = query.regime_classification
    filters = LedgerFilters(
        waiver_id=query.waiver_id,
        classification=query.classification,
        flagged=query.flagged,
        date_from=query.date_from,
        date_to=query.date_to,
        # A code the API knows names a seeded regime (migration 0026); -1 matches nothing.
        regime_id=regimes.get(query.regime, -1) if query.regime else None,
        regime_classification=(
            NOT_CHECKED if under == NOT_CHECKED else Classification(under) if under else None
        ),
        covered_under=regimes.get(query.covered_under, -1) if query.covered_under else None,
        not_covered_under=(
            regimes.get(query.not_covered_under, -1) if query.not_covered_under else None
        ),
    )
    entries, cursor = ledger_page(
        db.session,
        filters,
        before_seq=int(query.cursor) if query.cursor else None,
        size=query.limit,
    )
    page = schemas.DrawdownPage(
        items=[drawdown_out(entry) for entry in entries],
        next_cursor=str(cursor) if cursor is not None else None,
    )
    return respond(page)


@bp.post("/drawdowns/<int:entry_id>/reversal")
@permission_required(Permission.RECORD_DRAWDOWN)
def reverse(entry_id: int) -> Response:
    entry = _get(DrawdownEntry, entry_id)
    if entry is None:
        raise NotFoundError(_("No ledger entry has the id %(id)d.", id=entry_id))
    body = parse_body(schemas.ReversalIn)
    reversal = ledger.reverse_entry(
        db.session, entry, reason=body.reason, actor=current_user, now=utcnow()
    )
    return commit(respond(drawdown_out(reversal), 201, url_for("api.drawdowns")))


class ViolationQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    date_from: Annotated[schemas.IsoDate, Field(alias="from")]
    date_to: Annotated[schemas.IsoDate, Field(alias="to")]


MAX_VIOLATION_DAYS = 366


@bp.get("/staffing/violations")
@permission_required(Permission.VIEW_STAFFING)
def staffing_violations() -> Response:
    args = {key: value for key, value in request.args.items() if value != ""}
    try:
        query = ViolationQuery.model_validate(args)
    except ValidationError as exc:
        raise InvalidRequest(422, _("Some parameters are not valid."), _errors(exc)) from None
    if query.date_to < query.date_from:
        raise invalid(
            "to",
            _(
                "The end (%(end)s) is before the start (%(start)s).",
                end=query.date_to.isoformat(),
                start=query.date_from.isoformat(),
            ),
        )
    if (query.date_to - query.date_from).days >= MAX_VIOLATION_DAYS:
        raise invalid("to", _("Ask for at most %(n)d days at a time.", n=MAX_VIOLATION_DAYS))
    found, people = staffing_services.violations(
        db.session, query.date_from, query.date_to, locale=current_locale_code()
    )
    items = [schemas.ViolationOut(**violation.as_dict(people)) for violation in found]
    return respond(schemas.ViolationList(items=items))


# --- what-if screening (office.waivers.screening) -------------------------------------------


def screening_out(result: screening.Screening) -> schemas.ScreeningResult:
    item = result.item
    return schemas.ScreeningResult(
        item=schemas.ScreeningItemOut(
            hs_code=item.hs_code,
            origin=item.origin,
            us_content_percent=item.us_content_percent,
            quantity=item.quantity,
            unit=item.unit.value,
            occurred_on=item.occurred_on,
        ),
        regimes=[
            schemas.ScreeningRegimeOut(
                regime=answer.regime.code,
                control=answer.control,
                basis=answer.basis,
                rule=schemas.ScreeningRuleOut(prefix=answer.rule.prefix, note=answer.rule.note)
                if answer.rule is not None
                else None,
                best=answer.best,
                lines=[
                    schemas.ScreeningLineOut(
                        line_id=found.line.id,
                        line_no=found.line.line_no,
                        waiver=found.waiver.reference,
                        waiver_status=found.waiver.status,
                        valid_from=found.waiver.valid_from,
                        valid_until=found.waiver.valid_until,
                        standing=found.standing,
                        resource=found.resource.code,
                        classification=found.classification,
                        reason=str(found.reason) if found.reason is not None else None,
                        remaining_before=found.remaining_before,
                        remaining_after=found.remaining_after,
                        unit=found.unit.value,
                    )
                    for found in answer.lines
                ],
            )
            for answer in result.regimes
        ],
        overall=result.overall,
    )


@bp.post("/screenings")
@permission_required(Permission.VIEW_LEDGER)
def screen_item() -> Response:
    """Screen an item under every regime in force; record nothing. Like every POST it
    honours an Idempotency-Key: the answer is kept with the key (the only row written)."""
    body = parse_body(schemas.ScreeningIn)
    try:
        item = screening.check_item(
            hs_code=body.hs_code,
            origin=body.origin,
            us_content_percent=body.us_content_percent,
            quantity=body.quantity,
            unit=body.unit,
            occurred_on=body.occurred_on,
        )
    except screening.InvalidItem as exc:
        errors = {name: [str(m) for m in messages] for name, messages in exc.errors.items()}
        raise InvalidRequest(422, _("Some fields are not valid."), errors) from None
    return commit(respond(screening_out(screening.screen_item(db.session, item))))
