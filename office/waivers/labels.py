"""What each code of the ledger's vocabulary is called on screen, in Korean and English."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from babel import Locale, UnknownLocaleError

from office.i18n import _, _l, format_date, format_number, label, register_labels
from office.waivers.models import (
    Authority,
    Basis,
    Classification,
    Control,
    Lapse,
    Purpose,
    Regime,
    Resource,
    Source,
    Waiver,
    WaiverStatus,
)
from office.waivers.petroleum import PetroleumKind

STATUS_LABELS = {
    WaiverStatus.DRAFT: _l("draft"),
    WaiverStatus.REQUESTED: _l("requested"),
    WaiverStatus.GRANTED: _l("granted"),
    WaiverStatus.PARTIALLY_GRANTED: _l("partially granted"),
    WaiverStatus.DENIED: _l("denied"),
    WaiverStatus.REVOKED: _l("revoked"),
    WaiverStatus.EXPIRED: _l("expired"),
    WaiverStatus.WITHDRAWN: _l("withdrawn"),
}

AUTHORITY_LABELS = {
    Authority.UN_1718_COMMITTEE: _l("UN 1718 Committee exemption"),
    Authority.US_GOVERNMENT: _l("US government licence"),
    Authority.ROK_MOU_INDIVIDUAL: _l("Ministry of Unification approval (individual)"),
    Authority.ROK_MOU_BLANKET: _l("Ministry of Unification approval (blanket)"),
}

CLASSIFICATION_LABELS = {
    Classification.NOT_REQUIRED: _l("not required"),
    Classification.UNCOVERED: _l("uncovered"),
    Classification.DENIED: _l("denied"),
    Classification.PENDING: _l("pending"),
    Classification.OUTSIDE_VALIDITY: _l("outside validity"),
    Classification.OVER_CAP: _l("over cap"),
    Classification.COVERED: _l("covered"),
}

CONTROL_LABELS = {
    Control.PROHIBITED: _l("prohibited"),
    Control.CAPPED: _l("capped"),
    Control.APPROVAL: _l("approval required"),
    Control.NONE: _l("not controlled"),
}

BASIS_LABELS = {
    Basis.RULE: _l("an HS rule"),
    Basis.DEFAULT: _l("the regime's default"),
    Basis.NOT_SUBJECT: _l("not subject to it"),
}

# A regime named short, by its code (column headings; its full name is the reviewers').
REGIME_SHORT_NAMES = {"un": _l("UN"), "rok": _l("ROK"), "us": _l("US")}

PURPOSE_LABELS = {
    Purpose.OPERATION: _l("operation"),
    Purpose.REPAIR: _l("repair"),
    Purpose.FUEL: _l("fuel"),
    Purpose.SUPPLIES: _l("supplies"),
}

SOURCE_LABELS = {
    Source.MANUAL: _l("manual entry"),
    Source.DELIVERY: _l("delivery"),
    Source.FUEL_RECEIPT: _l("fuel receipt"),
    Source.FUEL_ISSUE: _l("fuel issue"),
    Source.METER: _l("meter reading"),
    Source.WORK_ORDER: _l("work order"),
}

PETROLEUM_KIND_LABELS = {
    PetroleumKind.GAS_DIESEL_OIL: _l("gas/diesel oil"),
    PetroleumKind.MOTOR_GASOLINE: _l("motor gasoline"),
    PetroleumKind.KEROSENE: _l("kerosene and jet fuel"),
    PetroleumKind.LPG: _l("liquefied petroleum gas (LPG)"),
    PetroleumKind.RESIDUAL_FUEL_OIL: _l("residual fuel oil"),
    PetroleumKind.CRUDE_OIL: _l("crude oil"),
}

# Badge colour of each status and classification on the pages.
STATUS_TONES = {
    WaiverStatus.GRANTED: "ok",
    WaiverStatus.PARTIALLY_GRANTED: "ok",
    WaiverStatus.REQUESTED: "warn",
    WaiverStatus.DRAFT: "muted",
    WaiverStatus.DENIED: "bad",
    WaiverStatus.REVOKED: "bad",
    WaiverStatus.EXPIRED: "muted",
    WaiverStatus.WITHDRAWN: "muted",
}
CONTROL_TONES = {
    Control.PROHIBITED: "bad",
    Control.CAPPED: "warn",
    Control.APPROVAL: "warn",
    Control.NONE: "muted",
}
CLASSIFICATION_TONES = {
    Classification.COVERED: "ok",
    Classification.NOT_REQUIRED: "muted",
    Classification.PENDING: "warn",
    Classification.OUTSIDE_VALIDITY: "bad",
    Classification.OVER_CAP: "bad",
    Classification.DENIED: "bad",
    Classification.UNCOVERED: "bad",
}

__all__ = ["country_name", "factor_text", "label", "regime_short_name", "shown_status", "tone"]

register_labels(
    {
        WaiverStatus: STATUS_LABELS,
        Authority: AUTHORITY_LABELS,
        Classification: CLASSIFICATION_LABELS,
        Control: CONTROL_LABELS,
        Basis: BASIS_LABELS,
        Purpose: PURPOSE_LABELS,
        Source: SOURCE_LABELS,
        PetroleumKind: PETROLEUM_KIND_LABELS,
    }
)
_TONES: dict[type, dict[Any, str]] = {
    WaiverStatus: STATUS_TONES,
    Classification: CLASSIFICATION_TONES,
    Control: CONTROL_TONES,
}


def tone(value: object) -> str:
    """Return the badge colour (ok, warn, bad, muted) of a status or classification."""
    return _TONES.get(type(value), {}).get(value, "muted")


def regime_short_name(regime: Regime, locale: str) -> str:
    """A regime's short name (UN, ROK, US), or its full name for a code without one."""
    short = REGIME_SHORT_NAMES.get(regime.code)
    return str(short) if short is not None else regime.name(locale)


def country_name(code: str, locale: str) -> str | None:
    """The name of the country with ISO 3166 code `code` in `locale`; None if unknown."""
    try:
        return Locale.parse(locale).territories.get(code.upper())
    except (UnknownLocaleError, ValueError):
        return None


# The statuses under which a waiver is drawn on, if the day falls within its validity.
IN_FORCE = frozenset({WaiverStatus.GRANTED, WaiverStatus.PARTIALLY_GRANTED})


@dataclass(frozen=True)
class ShownStatus:
    """A waiver's status as a page shows it on a day: its recorded status, except that a grant
    whose validity has not begun or has ended on that day says so (the history is unchanged,
    as the ledger refuses every drawdown dated then as outside validity)."""

    status: WaiverStatus
    lapse: Lapse | None
    since: date | None  # the validity's first day (not yet valid) or last day (expired)

    @property
    def text(self) -> str:
        if self.lapse is Lapse.EXPIRED:
            return str(_l("expired: valid until %(date)s", date=format_date(self.since)))
        if self.lapse is Lapse.NOT_YET_VALID:
            return str(_l("not yet valid: from %(date)s", date=format_date(self.since)))
        return label(self.status)

    @property
    def tone(self) -> str:
        if self.lapse is Lapse.EXPIRED:
            return STATUS_TONES[WaiverStatus.EXPIRED]
        if self.lapse is Lapse.NOT_YET_VALID:
            return "warn"
        return tone(self.status)

    @property
    def recorded(self) -> str:
        """What the status history says, for a shown status that differs from it."""
        return str(_l("Recorded status: %(status)s", status=label(self.status)))


def shown_status(waiver: Waiver, day: date, status: WaiverStatus | None) -> ShownStatus | None:
    """Return how `waiver` shows on `day` (a date in Asia/Seoul): `status`, its recorded
    status then, or, for a grant outside its validity, that it has expired or is not yet
    valid. None when it had no status yet."""
    if status is None:
        return None
    lapse = waiver.lapse_on(day) if status in IN_FORCE else None
    since = None
    if lapse is Lapse.EXPIRED:
        since = waiver.valid_until
    elif lapse is Lapse.NOT_YET_VALID:
        since = waiver.valid_from
    return ShownStatus(status, lapse, since)


def factor_text(resource: Resource) -> str:
    """Return the barrels per tonne a resource converts by, as every page and report shows
    it: "7.5" (its own), "7.23, UNSD default for gas/diesel oil", or "" (none)."""
    factor = resource.effective_barrels_per_tonne
    if factor is None:
        return ""
    if resource.barrels_per_tonne_is_default:
        return _(
            "%(factor)s, UNSD default for %(kind)s",
            factor=format_number(factor),
            kind=label(resource.petroleum_kind),
        )
    return format_number(factor)


# --- regimes, short: badges per regime, and cover under one regime without another ---------

# What covers goods under each regime.
REGIME_COVER = {"un": _l("UN exemption"), "rok": _l("Ministry approval"), "us": _l("US licence")}
NOT_CHECKED_LABEL = _l("not checked at the time")


def regime_cover(regime: Regime) -> str:
    """What covers goods under the regime (UN exemption, Ministry approval, US licence)."""
    return str(REGIME_COVER.get(regime.code) or regime.shown_name)


def gap_label(covered: Regime, missing: Regime) -> str:
    """Cover under one regime without the other's: "Ministry approval, no UN exemption"."""
    return str(
        _l(
            "%(covered)s, no %(missing)s",
            covered=regime_cover(covered),
            missing=regime_cover(missing),
        )
    )


def regime_classification_label(value: object) -> str:
    """A classification under a regime, or that the regime did not check the entry."""
    if value == "not_checked":
        return str(NOT_CHECKED_LABEL)
    return label(Classification(str(value)))
