"""The one definition of a megabyte shown to people: 1,000,000 bytes (SI, as plans are sold).

Plans, error messages, the admin and the pages all state sizes through this module, so a
limit reads the same everywhere and is the number the server enforces.
"""

BYTES_PER_MEGABYTE = 1_000_000


def megabytes(byte_count: int) -> str:
    """``12_500_000`` → ``"12.5 MB"``; whole numbers without the ``.0``."""
    return f"{byte_count / BYTES_PER_MEGABYTE:.1f} MB".replace(".0 MB", " MB")


def megabytes_over(byte_count: int, limit: int) -> str:
    """``byte_count`` (over ``limit``) with as many decimals as it takes to read as more than
    the limit: 2,040,000 bytes against 2 MB is "2.04 MB", never "2 MB"."""
    for decimals in range(1, 7):
        shown = round(byte_count / BYTES_PER_MEGABYTE, decimals)
        if shown * BYTES_PER_MEGABYTE > limit:
            return f"{shown:.{decimals}f} MB".replace(".0 MB", " MB")
    return f"{byte_count:,d} bytes"
