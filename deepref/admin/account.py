"""/admin/account/: the signed-in user's own account (issue 10, point 4).

Change the password (the current one is required and checked against the same lockout
as sign-in; every other session ends), see the open sessions and end any of them, set
up or remove the second factor (removal needs the password or a code). Every form is
a POST with the CSRF token (deepref.auth.security); nothing here acts on another user.
"""

from __future__ import annotations

import uuid

from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from markupsafe import Markup

from deepref.auth import devices, passwords, second_factor, throttle
from deepref.auth.session import (
    current_session_id, current_user, end_other_sessions, log_out,
)
from deepref.auth.views import locked_message
from deepref.admin import trail
from deepref.models import AdminSession, User
from deepref.models.fields import utcnow

WRONG_PASSWORD = "The current password is not correct."
MISMATCH = "The two new passwords are not the same."
WRONG_CODE = "This code is not valid, or was used already. Enter the current code."
NOT_CONFIRMED = "Enter your current password or a code from your authenticator app."


class AccountView(BaseView):
    """Your account: password, sessions, second factor."""

    def __init__(self):
        super().__init__(name="Your account", endpoint="account", url="/admin/account")

    def is_visible(self):
        return False  # linked from the navigation bar's email, not a menu entry

    def _page(self, status=200, **errors):
        user = current_user()
        sessions = (AdminSession.select().where(AdminSession.user == user.id)
                    .order_by(AdminSession.last_seen_at.desc()))
        html = self.render("admin/deepref/account.html", user=user, sessions=list(sessions),
                           here=current_session_id(),
                           enrolled=second_factor.is_enrolled(user),
                           recovery_left=second_factor.remaining_recovery_codes(user),
                           errors=errors)
        return html, status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/password", methods=("POST",))
    def password(self):
        user = current_user()
        new = request.form.get("new_password", "")
        refused = _wrong_password(user, request.form.get("current_password", ""))
        if refused:
            return self._page(*refused[:1], **refused[1])
        problem = passwords.password_problem(new)
        if not problem and new != request.form.get("confirm_password", ""):
            problem = MISMATCH
        if problem:
            return self._page(new_password=problem[0].upper() + problem[1:] + ".")
        with User._meta.database.write_transaction():
            password_hash = passwords.hash_password(new)
            User.update(password_hash=password_hash, updated_at=utcnow()).where(
                User.id == user.id).execute()
            ended = end_other_sessions(user.id)
            trail.record("update", User._meta.table_name, str(user.id),
                         {"password_hash": [trail.MASK, trail.MASK]})
        user.password_hash = password_hash
        flash(f"Your password is changed. {_sessions_ended(ended)}", "success")
        response = redirect(url_for(".index"))
        devices.remember(response, user)  # the old device cookies named the old password
        return response

    @expose("/sessions/end", methods=("POST",))
    def end_session(self):
        user = current_user()
        target, here = request.form.get("session", ""), str(current_session_id())
        try:
            ended = AdminSession.delete().where(
                (AdminSession.id == uuid.UUID(target)) & (AdminSession.user == user.id)).execute()
        except ValueError:  # not a session id at all
            ended = 0
        if not ended:
            flash("That session had ended already.", "info")
        elif str(uuid.UUID(target)) == here:
            log_out()
            flash("You are signed out.")
            return redirect(url_for("auth.login"))
        else:
            flash("The session is ended: that browser must sign in again.", "success")
        return redirect(url_for(".index"))

    @expose("/second-factor", methods=("GET", "POST"))
    def enrol(self):
        """Set up an authenticator app: its secret and QR code, then a first code."""
        user = current_user()
        try:
            factor = second_factor.start_enrolment(user)
        except second_factor.AlreadyEnrolled:
            flash("A second factor is already set up. Remove it first to set up another app.",
                  "info")
            return redirect(url_for(".index"))
        error = None
        if request.method == "POST":
            codes = second_factor.confirm_enrolment(user, request.form.get("code", ""), user)
            if codes:
                return self.render("admin/deepref/account_codes.html", codes=codes)
            error = WRONG_CODE
        uri = second_factor.provisioning_uri(factor, user)
        return self.render("admin/deepref/account_enrol.html", error=error,
                           secret=_grouped(factor.secret), qr=Markup(second_factor.qr_svg(uri)))

    @expose("/second-factor/remove", methods=("POST",))
    def remove(self):
        user = current_user()
        password, code = request.form.get("password", ""), request.form.get("code", "")
        if password:
            refused = _wrong_password(user, password, "remove_error")
            if refused:
                return self._page(*refused[:1], **refused[1])
        elif not code:
            return self._page(remove_error=NOT_CONFIRMED)
        else:
            refused = _wrong_code(user, code)
            if refused:
                return self._page(*refused[:1], **refused[1])
        second_factor.remove(user, actor=user)
        flash("The second factor and its recovery codes are removed.", "success")
        return redirect(url_for(".index"))


def _wrong_password(user, password: str, field: str = "current_password"):
    """None if `password` is the user's; else the page's (status, errors), counted as a
    refused sign-in (a stolen session cannot guess the password for long)."""
    ip = request.remote_addr
    with throttle.one_at_a_time(user.email):
        wait = throttle.retry_after(user.email, ip, known_device=devices.is_known(user))
        if wait:
            return 429, {field: locked_message(wait)}
        if passwords.verify_password(user.password_hash, password):
            return None
        throttle.record_failure(user.email, ip)
    return 200, {field: WRONG_PASSWORD}


def _wrong_code(user, code: str):
    ip = request.remote_addr
    with throttle.one_at_a_time(user.email):
        wait = throttle.retry_after(user.email, ip, known_device=devices.is_known(user))
        if wait:
            return 429, {"remove_error": locked_message(wait)}
        if second_factor.check_code(user, code):
            return None
        throttle.record_failure(user.email, ip)
    return 200, {"remove_error": WRONG_CODE}


def _sessions_ended(count: int) -> str:
    if not count:
        return "You had no other session."
    return f"{count} other session{'s' if count != 1 else ''} ended."


def _grouped(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))

