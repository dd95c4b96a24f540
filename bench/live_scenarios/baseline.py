"""baseline: an empty revision, the control.

Nothing touches "references": what remains is the cost of `flask db migrate` itself
(interpreter and app start-up, the migration lock, the history row) and the latency of
the benchmark's own traffic on a busy 2-core machine.
"""


def migrate(migrator, database, *, fake=False):
    pass


def rollback(migrator, database, *, fake=False):
    pass
