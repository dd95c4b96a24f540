"""/login and /logout."""

from __future__ import annotations


from flask import Blueprint, flash, redirect, render_template, request, url_for

from deepref.auth import devices, passwords, throttle
from deepref.auth.session import current_user, log_in, log_out, safe_next
from deepref.models import User

bp = Blueprint("auth", __name__)

REFUSED = "Email or password is incorrect, or this account may not sign in here."
LOCKED = ("Too many failed sign-in attempts. Wait {minutes} minute{s} before trying "
          "again.")


def _go_to(target: str | None):
    return redirect(request.script_root + safe_next(target))


def _form(status=200, error=None, email="", headers=None):
    next_url = safe_next(request.values.get("next"))
    html = render_template("auth/login.html", error=error, email=email, next=next_url)
    return html, status, headers or {}


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in form; only active admins with a password get in."""
    if request.method == "GET":
        if current_user() is not None:
            return _go_to(request.args.get("next"))
        return _form()
    email = passwords.normalise_email(request.form.get("email", ""))
    password = request.form.get("password", "")
    ip = request.remote_addr
    with throttle.one_at_a_time(email):
        user = User.get_or_none(User.email == email) if email else None
        wait = throttle.retry_after(email, ip, known_device=devices.is_known(user))
        if wait:
            minutes = max(1, -(-wait // 60))
            message = LOCKED.format(minutes=minutes, s="" if minutes == 1 else "s")
            return _form(429, message, email, {"Retry-After": str(wait)})
        valid = passwords.verify_password(user.password_hash if user else None, password)
        if not (valid and user.can_sign_in):
            throttle.record_failure(email, ip)
            return _form(200, REFUSED, email)
    log_in(user)
    response = _go_to(request.form.get("next"))
    devices.remember(response, user)
    return response


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """GET asks for confirmation; POST (with its CSRF token) signs out."""
    if request.method == "GET":
        if current_user() is None:
            return redirect(url_for("auth.login"))
        return render_template("auth/logout.html", user=current_user())
    log_out()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))
