"""How each view declares who may reach it, and the one check that enforces it.

Every endpoint carries a declaration: `public`, `login_required` or
`permission_required(Permission.X)`. A request is checked before the view runs; an endpoint
without a declaration is refused, and `create_app` fails at start-up if one exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal, TypeVar

from flask import Flask, abort, current_app, request
from flask_login import LoginManager, current_user

from office.auth.permissions import Permission, has_permission

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC: Final = "public"
LOGIN: Final = "login"
Access = Permission | Literal["public", "login"]
_ATTRIBUTE = "office_access"
_ALWAYS_PUBLIC = frozenset({"static"})

login_manager = LoginManager()


def _declare(view: F, access: Access) -> F:
    setattr(view, _ATTRIBUTE, access)
    return view


def public(view: F) -> F:
    """Let anyone, logged in or not, reach this view."""
    return _declare(view, PUBLIC)


def login_required(view: F) -> F:
    """Let any logged-in, active user reach this view."""
    return _declare(view, LOGIN)


def permission_required(permission: Permission) -> Callable[[F], F]:
    """Let only users holding `permission` reach this view."""
    if not isinstance(permission, Permission):
        raise TypeError(f"{permission!r} is not a Permission")

    def decorator(view: F) -> F:
        return _declare(view, permission)

    return decorator


def access_of(app: Flask, endpoint: str) -> Access | None:
    if endpoint in _ALWAYS_PUBLIC or endpoint.endswith(".static"):
        return PUBLIC
    return getattr(app.view_functions.get(endpoint), _ATTRIBUTE, None)


def user_may(user: Any, access: Access | None) -> bool:
    if access == PUBLIC:
        return True
    if access is None or not user.is_authenticated:
        return False
    return has_permission(user, access) if isinstance(access, Permission) else access == LOGIN


def can_access(endpoint: str) -> bool:
    """Tell whether the current user may reach `endpoint` (used to hide links and buttons)."""
    return user_may(current_user, access_of(current_app, endpoint))


def enforce_access() -> Any:
    if request.endpoint is None:  # no route matched: let the 404 handler answer
        return None
    access = access_of(current_app, request.endpoint)
    if access == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not user_may(current_user, access):
        abort(403)
    return None


def undeclared_endpoints(app: Flask) -> list[str]:
    return sorted(e for e in app.view_functions if access_of(app, e) is None)
