"""Read replicas: 1:N search reads may go to ``DATABASE_REPLICA_URL``; everything else stays.

With a replica configured, Django has a second alias, ``replica``. Only reads made inside
``replica_reads()`` — the pgvector search path, faces.vector_store through
faces.selectors — are routed there; every write, every enrolment, and every other read
(the API's own read-your-writes: list the faces just enrolled, delete one) uses the
primary. A replica replays the primary's WAL with some lag (docs/PERFORMANCE.md, "Read
replicas"), so a face enrolled a moment ago can be missing from a search for that long.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

PRIMARY = "default"
REPLICA = "replica"

_reading_from_replica: ContextVar[bool] = ContextVar("reading_from_replica", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def search_database() -> str:
    """The alias 1:N search reads from: the replica when there is one."""
    return REPLICA if replica_configured() else PRIMARY


@contextmanager
def replica_reads() -> Iterator[str]:
    """Route the ORM reads made inside to the replica (when one is configured)."""
    token = _reading_from_replica.set(True)
    try:
        yield search_database()
    finally:
        _reading_from_replica.reset(token)


class ReplicaRouter:
    """Writes and migrations on the primary; reads on the replica only when asked."""

    def db_for_read(self, model, **hints):
        if _reading_from_replica.get() and replica_configured():
            return REPLICA
        return PRIMARY

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same rows.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY
