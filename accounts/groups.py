"""Endpoint groups: the unit that plans allow and rate limits count (see API.md)."""

COMPARE = "compare"
SEARCH = "search"
BATCH = "batch"
ANALYZE = "analyze"
VIDEO = "video"
VIDEO_STATUS = "video_status"

ALL_GROUPS = (COMPARE, SEARCH, BATCH, ANALYZE, VIDEO, VIDEO_STATUS)
GROUP_CHOICES = [(group, group.replace("_", " ")) for group in ALL_GROUPS]

# Contract defaults: (requests per minute, burst per second). A plan may override them.
DEFAULT_RATE_LIMITS = {
    COMPARE: (60, 10),
    SEARCH: (30, 5),
    BATCH: (10, 2),
    ANALYZE: (60, 10),
    VIDEO: (10, 2),
    VIDEO_STATUS: (120, 20),
}

# How the pages (plans, dashboard usage, API guide) name each group.
GROUP_LABELS = {
    COMPARE: "Face compare & detect",
    SEARCH: "Face search & collections",
    BATCH: "Batch match (N:N)",
    ANALYZE: "Vehicles & bodies",
    VIDEO: "Video analyze",
    VIDEO_STATUS: "Video status & results",
}
