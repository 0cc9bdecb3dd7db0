"""Reading ids that arrive from outside (URL segments, form fields) as UUIDs.

Framework-free: selectors of every app use it, so a malformed id is "not found" the same way
everywhere rather than a 500 from the database.
"""

import uuid


def parse_uuid(value) -> uuid.UUID | None:
    """The UUID `value` spells (any form uuid.UUID accepts), or None when it spells none."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None
