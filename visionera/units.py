"""The one definition of a megabyte shown to people: 1,000,000 bytes (SI, as plans are sold).

Plans, error messages, the admin and the pages all state sizes through this module, so a
limit reads the same everywhere and is the number the server enforces.
"""

BYTES_PER_MEGABYTE = 1_000_000


def megabytes(byte_count: int) -> str:
    """``12_500_000`` → ``"12.5 MB"``; whole numbers without the ``.0``."""
    return f"{byte_count / BYTES_PER_MEGABYTE:.1f} MB".replace(".0 MB", " MB")
