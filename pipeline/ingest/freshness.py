"""arXiv's announcement calendar, gap finding, and the backfill queries a missed day implies.

Pure: dates and strings in, dates and URLs out; imports only the standard library. No clock: the
caller passes `now`. Facts used (arxiv.org/help/availability): submissions received before
14:00 US Eastern on a weekday are announced at 20:00 Eastern that evening, Sunday to Thursday; the
RSS feed dates an announcement with the next day, so feeds carry Monday-to-Friday dates and none on
weekends. Holidays are not known in advance: a holiday looks like a gap, is backfilled, finds
nothing, and is then recorded as a day without announcements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

ARXIV_TZ = ZoneInfo("America/New_York")
ANNOUNCE_HOUR = 20  # 20:00 Eastern, Sunday to Thursday
DEADLINE = time(14, 0)  # submissions received before 14:00 Eastern make that evening's mailing
API_PAGE_MAX = 2000  # arXiv's API terms: at most 2,000 results per call

# arXiv archives that live under the OAI-PMH set "physics:<archive>".
_PHYSICS_ARCHIVES = frozenset(
    {"astro-ph", "cond-mat", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph"}
    | {"nlin", "nucl-ex", "nucl-th", "physics", "quant-ph"}
)


def is_announcement_day(day: date) -> bool:
    """True for the days an arXiv feed can carry: Monday to Friday."""
    return day.weekday() < 5


def latest_announcement_day(now: datetime) -> date:
    """The date of the newest arXiv announcement made by `now` (aware datetime)."""
    local = now.astimezone(ARXIV_TZ)
    day = local.date() + timedelta(days=1 if local.hour >= ANNOUNCE_HOUR else 0)
    while not is_announcement_day(day):
        day -= timedelta(days=1)
    return day


def announcement_days(start: date, end: date) -> list[date]:
    """Every announcement day in [start, end], oldest first."""
    days, day = [], start
    while day <= end:
        if is_announcement_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def find_gaps(
    seen: Iterable[date], *, first_day: date | None, last_day: date, max_days: int
) -> list[date]:
    """Announcement days from `first_day` (at most `max_days` back from `last_day`) not in `seen`.

    A source that has never recorded a day (`first_day` None) has no gaps: there is nothing to
    compare with, and its first run should not trigger a backfill of history.
    """
    if first_day is None:
        return []
    start = max(first_day, last_day - timedelta(days=max_days))
    have = set(seen)
    return [d for d in announcement_days(start, last_day) if d not in have]


def previous_weekday(day: date) -> date:
    """The weekday (Monday to Friday) before `day`."""
    day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def submission_window(day: date) -> tuple[datetime, datetime]:
    """The submission times (aware, Eastern) whose papers the announcement dated `day` carries.

    Monday's announcement carries Thursday 14:00 to Friday 14:00; Tuesday's, Friday 14:00 to
    Monday 14:00. A holiday shifts this; the approximation then misses or repeats a few papers,
    and repeats are merged by id anyway.
    """
    end_day = previous_weekday(day)
    start_day = previous_weekday(end_day)
    start = datetime.combine(start_day, DEADLINE, tzinfo=ARXIV_TZ)
    end = datetime.combine(end_day, DEADLINE, tzinfo=ARXIV_TZ)
    return start, end


def api_query_url(
    api_url: str, categories: Sequence[str], day: date, *, start: int, max_results: int
) -> str:
    """The export.arxiv.org/api/query URL listing papers submitted for `day`'s announcement."""
    begin, end = (t.astimezone(ZoneInfo("UTC")) for t in submission_window(day))
    cats = " OR ".join(f"cat:{c}" for c in categories)
    query = f"({cats}) AND submittedDate:[{begin:%Y%m%d%H%M} TO {end:%Y%m%d%H%M}]"
    params = {
        "search_query": query,
        "start": str(start),
        "max_results": str(min(max_results, API_PAGE_MAX)),
        "sortBy": "submittedDate",
        "sortOrder": "ascending",
    }
    return f"{api_url}?{urlencode(params)}"


def oai_sets(categories: Sequence[str]) -> list[str]:
    """The OAI-PMH sets that hold `categories`: cs.LG -> cs, hep-th -> physics:hep-th."""
    sets = []
    for category in categories:
        archive = category.split(".", 1)[0]
        sets.append(f"physics:{archive}" if archive in _PHYSICS_ARCHIVES else archive)
    return list(dict.fromkeys(sets))


def oai_list_url(oai_url: str, oai_set: str, day: date) -> str:
    """The first ListRecords URL for records stamped between the day before `day` and `day`."""
    params = {
        "verb": "ListRecords",
        "metadataPrefix": "arXiv",
        "set": oai_set,
        "from": previous_weekday(day).isoformat(),
        "until": day.isoformat(),
    }
    return f"{oai_url}?{urlencode(params)}"


def oai_resume_url(oai_url: str, token: str) -> str:
    """The URL of the next ListRecords page."""
    return f"{oai_url}?{urlencode({'verb': 'ListRecords', 'resumptionToken': token})}"


def categories_from_url(url: str) -> list[str]:
    """`https://rss.arxiv.org/rss/cs.LG+cs.CV` -> ['cs.LG', 'cs.CV'] (empty for other URLs)."""
    tail = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    parts = [p for p in tail.split("+") if p]
    return parts if parts and all(_looks_like_category(p) for p in parts) else []


def _looks_like_category(text: str) -> bool:
    archive = text.split(".", 1)[0]
    plain = bool(archive) and all(c.isalpha() or c == "-" for c in archive)
    return plain and ("." in text or text in _PHYSICS_ARCHIVES)
