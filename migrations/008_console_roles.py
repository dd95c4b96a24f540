"""008_console_roles: who may do what in the admin console (issue 10).

Creates user_roles (user, role: admin / reviewer / prompt-editor / viewer, granted by,
granted at; one row per user and role) with its unique (user_id, role) index and the
granted_by foreign key's index. Then grants `admin` to every user whose platform role
is admin, so everyone who could use the console before keeps all of it: the console now
also requires a console role (deepref/models/roles.py). Rollback drops the table (the
console is back to "platform role admin may do everything").
"""

import peewee as pw

from deepref.migrate.ops import declare_indexes
from deepref.models.base import check, foreign_key, one_of
from deepref.models.fields import CreatedAtField, UUIDKeyField

ROLES = ("admin", "reviewer", "prompt-editor", "viewer")
INDEXES = [
    ("user_roles", "uq_user_roles_user_id_role", ("user", "role"), True, None),
    ("user_roles", "ix_user_roles_granted_by_id", ("granted_by",), False, None),
]


def migrate(migrator, database, *, fake=False):
    users = migrator.orm["users"]

    @migrator.create_model
    class UserRole(pw.Model):
        id = UUIDKeyField()
        user = foreign_key(users, "fk_user_roles_user_id", "CASCADE")
        role = pw.CharField(max_length=20)
        granted_by = foreign_key(users, "fk_user_roles_granted_by_id", "SET NULL", null=True)
        granted_at = CreatedAtField()

        class Meta:
            table_name = "user_roles"
            constraints = [check("ck_user_roles_role", one_of("role", ROLES))]

    declare_indexes(migrator, INDEXES)
    # Today's console users keep everything. PostgreSQL generates the id (its DEFAULT);
    # SQLite stores a uuid as 32 hex digits, as peewee's UUIDField does.
    new_id = "" if getattr(database, "uuid_default", None) else "lower(hex(randomblob(16))), "
    migrator.sql(f"INSERT INTO user_roles ({'id, ' if new_id else ''}user_id, role) "
                 f"SELECT {new_id}id, 'admin' FROM users WHERE role = 'admin'")


def rollback(migrator, database, *, fake=False):
    migrator.remove_model("user_roles")
