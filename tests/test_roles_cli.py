"""`flask grant-role`, `flask revoke-role`, `flask create-admin` and revision 008's grant of
`admin` to the console's existing users (issue 10)."""

from __future__ import annotations

import threading

import pytest

from databases import database_of, empty_tables, module_env
from deepref import migrate as runner
from deepref.auth import roles, session_values
from deepref.auth.admins import LastAdmin
from deepref.models import AdminSession, AuditLog, User, UserRole


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def shared_env(backend, tmp_path_factory):
    """One database per backend for this file, migrated by the first test's app."""
    with module_env(backend, tmp_path_factory.mktemp("roles"), "deepref_roles") as env:
        yield env


@pytest.fixture
def app(make_app, shared_env):
    app = make_app(shared_env)
    db = database_of(app)
    runner.migrate(db, echo=lambda line: None)
    yield app
    empty_tables(db)


def flask(app, *args, stdin=None):
    return app.test_cli_runner().invoke(args=list(args), input=stdin)


def staff(email, role=None, password="x" * 20):
    user = User.create(email=email, role="admin", password_hash=password)
    if role:
        UserRole.create(user=user, role=role)
    return user


def held(email) -> set[str]:
    return {r.role for r in UserRole.select().join(User, on=UserRole.user == User.id)
            .where(User.email == email)}


def test_grant_and_revoke_are_audited_and_end_the_users_sessions(app):
    staff("boss@example.com", "admin")
    ops = staff("ops@example.com")
    session_values(ops)
    done = flask(app, "grant-role", "OPS@example.com", "reviewer")
    assert done.exit_code == 0, done.output
    assert done.output.strip() == "Granted reviewer to ops@example.com; their sessions were ended."
    assert held("ops@example.com") == {"reviewer"}
    assert AdminSession.select().where(AdminSession.user == ops.id).count() == 0
    again = flask(app, "grant-role", "ops@example.com", "reviewer")
    assert again.exit_code == 0 and "already holds reviewer: nothing to do" in again.output
    session_values(ops)
    gone = flask(app, "revoke-role", "ops@example.com", "reviewer")
    assert gone.exit_code == 0 and "Revoked reviewer from ops@example.com" in gone.output
    assert held("ops@example.com") == set()
    assert AdminSession.select().where(AdminSession.user == ops.id).count() == 0
    entries = list(AuditLog.select().where(AuditLog.table_name == "user_roles")
                   .order_by(AuditLog.created_at))
    assert [(e.action, e.actor_email) for e in entries] == [
        ("create", "(command line)"), ("delete", "(command line)")]
    assert entries[0].changes["role"] == [None, "reviewer"]
    assert entries[1].changes["user"] == [str(ops.id), None]
    nothing = flask(app, "revoke-role", "ops@example.com", "reviewer")
    assert nothing.exit_code == 0 and "does not hold reviewer: nothing to do" in nothing.output


@pytest.mark.parametrize("args, code, message", [
    (("grant-role", "nobody@example.com", "viewer"), 2, "no user with the email 'nobody@example.com'"),
    (("grant-role", "ops@example.com", "superuser"), 2, "'superuser' is not one of"),
    (("revoke-role", "ops@example.com", "root"), 2, "'root' is not one of"),
    (("grant-role", "seeker@example.com", "viewer"), 2, "seeker@example.com is a seeker: console "
                                                        "roles are for staff accounts"),
    (("grant-role", "ops@example.com"), 2, "Missing argument 'ROLE"),
    (("grant-role", "", "viewer"), 2, "no user with the email ''"),
])
def test_bad_input_is_one_line_and_exit_2(app, args, code, message):
    staff("ops@example.com")
    User.create(email="seeker@example.com")
    result = flask(app, *args)
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
    assert UserRole.select().count() == 0 and AuditLog.select().count() == 0


def test_the_last_admin_keeps_admin(app):
    staff("boss@example.com", "admin")
    staff("ghost@example.com", "admin", password=None)  # cannot sign in: does not count
    result = flask(app, "revoke-role", "boss@example.com", "admin")
    assert result.exit_code == 1
    assert "boss@example.com is the last active admin who can sign in" in result.output
    assert held("boss@example.com") == {"admin"} and AuditLog.select().count() == 0
    staff("second@example.com", "admin")
    assert flask(app, "revoke-role", "boss@example.com", "admin").exit_code == 0
    assert flask(app, "revoke-role", "second@example.com", "admin").exit_code == 1


def test_two_admins_revoking_each_other_at_once_leave_one(app):
    """The admins' lock (a transaction-level advisory lock on PostgreSQL, BEGIN IMMEDIATE
    on SQLite) serialises the two checks: whatever the timing, exactly one succeeds."""
    a, b = staff("a@example.com", "admin"), staff("b@example.com", "admin")
    start = threading.Barrier(2)
    outcomes = []

    def revoke(user):
        with app.app_context():
            database_of(app).connect(reuse_if_open=True)
            start.wait()
            try:
                outcomes.append(roles.revoke(user, "admin"))
            except LastAdmin:
                outcomes.append("refused")
            finally:
                database_of(app).close()

    threads = [threading.Thread(target=revoke, args=(u,)) for u in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, outcomes)) == ["True", "refused"]
    assert UserRole.select().where(UserRole.role == "admin").count() == 1


def test_create_admin_grants_admin(app):
    result = flask(app, "create-admin", "new@example.com", "--password-stdin",
                   stdin="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert held("new@example.com") == {"admin"}
    assert User.get(User.email == "new@example.com").can_sign_in


def test_revision_008_grants_admin_to_every_existing_admin(bare_app):
    db = database_of(bare_app)
    runner.migrate(db, target="007_console_daily_work", echo=lambda line: None)
    db.execute_sql("INSERT INTO users (id, email, role) VALUES (%s, 'old@example.com', 'admin'),"
                   " (%s, 'seeker@example.com', 'seeker')".replace("%s", db.param),
                   [_id(db), _id(db)])
    runner.migrate(db, echo=lambda line: None)
    assert [(r.user.email, r.role) for r in UserRole.select()] == [("old@example.com", "admin")]
    runner.rollback(db, to="007_console_daily_work", echo=lambda line: None)
    assert "user_roles" not in db.get_tables()


def _id(db) -> str:
    import uuid

    value = uuid.uuid4()
    return value.hex if db.param == "?" else str(value)
