"""Source kinds: one pure parser per kind turning fetched bytes into `Entry` records.

Every parser has the signature `(content, source, headers=None) -> Entries` (a list of `Entry`
with `n_bad`, the items skipped as bad) and raises only ParseError on unusable bytes. No network,
no files, no heavy imports (feedparser at most).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pipeline.errors import ConfigError
from pipeline.ingest.sources.arxiv import parse_arxiv_api, parse_arxiv_rss
from pipeline.ingest.sources.files import parse_file
from pipeline.ingest.sources.hf import parse_hf_daily
from pipeline.ingest.sources.rss import parse_rss
from pipeline.models import Entries

Parser = Callable[[bytes, str, Mapping[str, str] | None], Entries]

PARSERS: dict[str, Parser] = {
    "arxiv-rss": parse_arxiv_rss,
    "arxiv-api": parse_arxiv_api,
    "hf-daily": parse_hf_daily,
    "rss": parse_rss,
    "file": parse_file,
}

__all__ = [
    "PARSERS",
    "parse_arxiv_api",
    "parse_arxiv_rss",
    "parse_file",
    "parse_hf_daily",
    "parse_rss",
    "parse_source",
]


def parse_source(
    kind: str, content: bytes, source: str, headers: Mapping[str, str] | None = None
) -> Entries:
    """Parse `content` with the parser registered for `kind` ("arxiv-rss", "rss", "file", …)."""
    try:
        parser = PARSERS[kind]
    except KeyError:
        known = ", ".join(sorted(PARSERS))
        raise ConfigError(f"{source}: unknown source kind {kind!r} (known: {known})") from None
    return parser(content, source, headers)
