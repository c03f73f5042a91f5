"""Roles and the closed set of permissions they grant."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    ADMIN = "admin"  # office administrator in Kaesong
    SCHEDULER = "scheduler"
    REVIEWER = "reviewer"  # Ministry of Unification


class Permission(StrEnum):
    MANAGE_USERS = "manage_users"
    VIEW_LEDGER = "view_ledger"  # waivers, resources, the ledger and its exports
    RECORD_DRAWDOWN = "record_drawdown"  # also reverses entries
    OVERRIDE_DRAWDOWN = "override_drawdown"  # record a refused drawdown, flagged, with a reason
    MANAGE_WAIVERS = "manage_waivers"
    MANAGE_CATALOGUE = "manage_catalogue"  # resources and HS rules
    VIEW_STAFFING = "view_staffing"  # rosters, stays, duty, the calendar, crossing lists
    MANAGE_STAFFING = "manage_staffing"  # change them, plan, import the roster
    VIEW_OPERATIONS = "view_operations"  # tanks, generators, meters, daily logs, UN report
    LOG_OPERATIONS = "log_operations"  # record them and sign the daily log off
    VIEW_SUPPLIES = "view_supplies"  # deliveries, on-site stock, repair works
    MANAGE_SUPPLIES = "manage_supplies"  # prepare, cross and receive deliveries; run works
    VIEW_REVIEW = "view_review"  # the dashboard, the review queue and threads, the reports
    REVIEW_ITEMS = "review_items"  # acknowledge, query, escalate, reopen flagged items
    ANSWER_QUERIES = "answer_queries"  # answer a reviewer's query for the office
    SIGN_OFF_MONTHS = "sign_off_months"
    VIEW_AUDIT = "view_audit"  # the audit trail of everyone's actions and logins


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(
        {
            Permission.VIEW_LEDGER,
            Permission.RECORD_DRAWDOWN,
            Permission.OVERRIDE_DRAWDOWN,
            Permission.VIEW_STAFFING,
            Permission.VIEW_OPERATIONS,
            Permission.LOG_OPERATIONS,
            Permission.VIEW_SUPPLIES,
            Permission.MANAGE_SUPPLIES,
            Permission.VIEW_REVIEW,
            Permission.ANSWER_QUERIES,
        }
    ),
    Role.SCHEDULER: frozenset({Permission.VIEW_STAFFING, Permission.MANAGE_STAFFING}),
    Role.REVIEWER: frozenset(
        {
            Permission.VIEW_LEDGER,
            Permission.MANAGE_WAIVERS,
            Permission.MANAGE_CATALOGUE,
            Permission.VIEW_STAFFING,
            Permission.VIEW_OPERATIONS,
            Permission.VIEW_SUPPLIES,
            Permission.VIEW_REVIEW,
            Permission.REVIEW_ITEMS,
            Permission.SIGN_OFF_MONTHS,
            Permission.VIEW_AUDIT,
        }
    ),
}

SUPERUSER_PERMISSIONS = frozenset({Permission.MANAGE_USERS, Permission.VIEW_AUDIT})


class _Actor(Protocol):
    is_authenticated: bool
    is_active: bool
    is_superuser: bool
    role: Role


def permissions_of(user: _Actor) -> frozenset[Permission]:
    """Return every permission `user` holds (none when anonymous or inactive)."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    granted = ROLE_PERMISSIONS[user.role]
    return granted | SUPERUSER_PERMISSIONS if user.is_superuser else granted


def has_permission(user: _Actor, permission: Permission) -> bool:
    return permission in permissions_of(user)


def role_label(role: Role) -> str:
    from office.i18n import _

    return {
        Role.ADMIN: _("Office administrator"),
        Role.SCHEDULER: _("Scheduler"),
        Role.REVIEWER: _("Ministry reviewer"),
    }[Role(role)]
