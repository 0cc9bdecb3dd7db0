"""SVG chart geometry for the dashboard, as pure functions: counts in, coordinates out.

No database and no request here: the views read the counts through selectors and the
templates draw what these functions return, so the geometry is testable on plain data.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

CHART_DAYS = 30

# The requests chart's box, in SVG user units.
CHART_WIDTH, CHART_HEIGHT = 640, 200
CHART_LEFT, CHART_BOTTOM, CHART_TOP = 36, 24, 10
BAR_SHARE = 0.7  # of a day's slot; the rest is the gap between bars
DAY_LABEL_EVERY = 5

# The video timeline's box.
TIMELINE_WIDTH, TIMELINE_LEFT, TIMELINE_RIGHT_MARGIN = 640, 70, 10
LANE_HEIGHT, LANE_TOP = 28, 8
TIMELINE_TICKS = 5


def _scale_top(peak: int) -> int:
    """A round top of the scale, so that the middle grid line is a whole number too."""
    if peak <= 10:
        return max(2, peak + peak % 2)
    return -(-peak // 10) * 10


def requests_chart(daily: Mapping[date, Mapping[str, int]], *, today: date,
                   days: int = CHART_DAYS) -> dict:
    """Requests per day (successes and errors stacked) as ready-to-draw SVG bars, oldest day
    first. `daily` maps a day to {"total": n, "errors": m}; days missing from it had none."""
    first = today - timedelta(days=days - 1)
    plot_h = CHART_HEIGHT - CHART_BOTTOM - CHART_TOP
    slot = (CHART_WIDTH - CHART_LEFT) / days
    scale_max = _scale_top(max([row["total"] for row in daily.values()] + [1]))
    bars = []
    for index in range(days):
        day = first + timedelta(days=index)
        row = daily.get(day, {})
        total, errors = row.get("total", 0), row.get("errors", 0)
        ok = total - errors
        ok_h = plot_h * ok / scale_max
        err_h = plot_h * errors / scale_max
        x = CHART_LEFT + index * slot + slot * (1 - BAR_SHARE) / 2
        bars.append(
            {
                "day": day,
                "ok": ok,
                "errors": errors,
                "x": round(x, 1),
                "w": round(slot * BAR_SHARE, 1),
                "ok_y": round(CHART_TOP + plot_h - ok_h, 1),
                "ok_h": round(ok_h, 1),
                "err_y": round(CHART_TOP + plot_h - ok_h - err_h, 1),
                "err_h": round(err_h, 1),
                "label": (day.strftime("%d %b")
                          if index % DAY_LABEL_EVERY == 0 or index == days - 1 else ""),
                "label_x": round(x + slot * BAR_SHARE / 2, 1),
            }
        )
    ticks = [
        {"y": round(CHART_TOP + plot_h - plot_h * fraction, 1),
         "label": f"{scale_max * fraction:g}"}
        for fraction in (0, 0.5, 1)
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "baseline": CHART_TOP + plot_h,
        "label_y": CHART_HEIGHT - 6,
        "bars": bars,
        "ticks": ticks,
        "total": sum(bar["ok"] + bar["errors"] for bar in bars),
        "errors": sum(bar["errors"] for bar in bars),
        "first": first,
        "last": today,
    }


@dataclass(frozen=True)
class TimelineMark:
    """One detection on the timeline: its lane, its time and what to call it."""

    kind: str
    timestamp_ms: int
    label: str = ""


def video_timeline(marks: Iterable[TimelineMark], *, lanes: list[tuple[str, str]],
                   duration_ms: int) -> dict:
    """Detections along the video's time axis, one lane per (kind, label) in `lanes`."""
    marks = list(marks)
    end_ms = max(duration_ms, max((m.timestamp_ms for m in marks), default=0), 1)
    span = TIMELINE_WIDTH - TIMELINE_LEFT - TIMELINE_RIGHT_MARGIN
    drawn = []
    for index, (kind, label) in enumerate(lanes):
        y = LANE_TOP + index * LANE_HEIGHT
        drawn.append({
            "kind": kind,
            "label": label,
            "y": y,
            "text_y": y + LANE_HEIGHT // 2 + 2,
            "marks": [
                {"x": round(TIMELINE_LEFT + span * m.timestamp_ms / end_ms, 1),
                 "t": m.timestamp_ms / 1000, "label": m.label}
                for m in marks if m.kind == kind
            ],
        })
    last = TIMELINE_TICKS - 1
    ticks = [
        {"x": round(TIMELINE_LEFT + span * step / last, 1),
         "label": f"{end_ms * step / last / 1000:.1f}s"}
        for step in range(TIMELINE_TICKS)
    ]
    height = LANE_TOP + len(lanes) * LANE_HEIGHT + 22
    return {"width": TIMELINE_WIDTH, "height": height, "left": TIMELINE_LEFT, "lanes": drawn,
            "ticks": ticks, "axis_y": height - 20, "label_y": height - 6,
            "lane_h": LANE_HEIGHT - 12}
