"""/login (password, then the second factor's code when the user has one) and /logout."""

from __future__ import annotations


from flask import Blueprint, flash, redirect, render_template, request, url_for

from deepref.auth import devices, passwords, second_factor, throttle
from deepref.auth.session import (
    current_user, log_in, log_out, safe_next, second_step_user, start_second_step,
)
from deepref.models import User

bp = Blueprint("auth", __name__)

REFUSED = "Email or password is incorrect, or this account may not sign in here."
LOCKED = ("Too many failed sign-in attempts. Wait {minutes} minute{s} before trying "
          "again.")
WRONG_CODE = "This code is not valid, or was used already. Enter the current code."
STEP_EXPIRED = "Sign in again: the time to enter the code has passed."


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
            return _form(429, locked_message(wait), email, {"Retry-After": str(wait)})
        valid = passwords.verify_password(user.password_hash if user else None, password)
        if not (valid and user.can_sign_in):
            throttle.record_failure(email, ip)
            return _form(200, REFUSED, email)
    if second_factor.is_enrolled(user):
        start_second_step(user, safe_next(request.form.get("next")))
        return redirect(url_for("auth.code"))
    return _signed_in(user, request.form.get("next"))


def _signed_in(user, next_url):
    log_in(user)
    response = _go_to(next_url)
    devices.remember(response, user)
    return response


def locked_message(wait: int) -> str:
    """The sentence for a lockout of `wait` seconds."""
    minutes = max(1, -(-wait // 60))
    return LOCKED.format(minutes=minutes, s="" if minutes == 1 else "s")


@bp.route("/login/code", methods=["GET", "POST"])
def code():
    """The second step: a code from the authenticator app, or a recovery code.

    Wrong codes count against the same lockout as wrong passwords."""
    user, next_url = second_step_user()
    if user is None and current_user() is not None:
        return _go_to(None)  # signed in already
    if user is None:
        flash(STEP_EXPIRED)
        return redirect(url_for("auth.login"))
    if request.method == "GET":
        return render_template("auth/code.html")
    ip = request.remote_addr
    with throttle.one_at_a_time(user.email):
        wait = throttle.retry_after(user.email, ip, known_device=devices.is_known(user))
        if wait:
            return (render_template("auth/code.html", error=locked_message(wait)), 429,
                    {"Retry-After": str(wait)})
        if not second_factor.check_code(user, request.form.get("code", "")):
            throttle.record_failure(user.email, ip)
            return render_template("auth/code.html", error=WRONG_CODE)
    return _signed_in(user, next_url)


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
