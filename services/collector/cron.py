"""Sources' schedules, read as standard cron (`minute hour day month weekday`, UTC) into
APScheduler triggers.

APScheduler 3 numbers weekdays from Monday (0) to Sunday (6), where cron has 0 or 7 for Sunday
and 1 for Monday: its own `from_crontab` would run `1-5` Tuesday to Saturday. The weekday field
is therefore given to it as day names. Like APScheduler, and unlike cron, a schedule that
restricts both the day of the month and the weekday fires when both match, not either.
"""

from __future__ import annotations

from datetime import UTC

from apscheduler.triggers.cron import CronTrigger

DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def day_number(text: str) -> int:
    """0 to 7 (0 and 7 Sunday) for a number or a day's name."""
    if text.isdigit() and int(text) <= 7:
        return int(text)
    if text.lower() in DAYS:
        return DAYS.index(text.lower())
    raise ValueError(f"not a day of the week: {text!r}")


def weekdays(field: str) -> str:
    """Cron's weekday field as APScheduler's day names: `1-5` is "mon,tue,wed,thu,fri", `5-7`
    and `fri-sun` "fri,sat,sun", `*/2` "sun,tue,thu,sat"."""
    if field == "*":
        return field
    days = set()
    for part in field.split(","):
        span, slash, step = part.partition("/")
        if slash and not (step.isdigit() and int(step) > 0):
            raise ValueError(f"not a step: {step!r}")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            first, last = map(day_number, span.split("-", 1))
            # `sat-sun`, `5-0`: a range may end on Sunday counted as 0 (as APScheduler's own
            # names, Monday first, took it before); it is the week's last day there.
            last = 7 if last == 0 and first > 0 else last
        else:
            first = day_number(span)
            last = 6 if slash else first
        if first > last:
            raise ValueError(f"a range backwards: {span!r}")
        days.update(day % 7 for day in range(first, last + 1, int(step) if slash else 1))
    return ",".join(DAYS[day] for day in sorted(days))


def cron_trigger(expression: str) -> CronTrigger:
    """The trigger of a five-field cron expression, in UTC; ValueError when it is not one."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"five fields, not {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=weekdays(weekday),
        timezone=UTC,
    )
