"""Paper identity: arXiv ids in every form, canonical ids (`arxiv:` > `doi:` > `url:` > `title:`),
and the keys records are compared by (URLs without tracking, NFKC titles).

Pure: imports only `models`, `errors` and the field-cleaning rules in `clean`. `normalize` builds
papers with these; the merge rules there decide what two records with these ids become.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from pipeline.errors import ParseError
from pipeline.ingest.clean import clean_doi, clean_text, doi_from_link, fold_key
from pipeline.models import Entry

# An old-style id (before April 2007) is archive/YYMMNNN; papers of the time cite it with a
# subject class (math.GT/0309136, cond-mat.str-el/0601001), which is no part of it: arXiv
# stores, lists and links math/0309136, so the id read drops it.
_ARCHIVE = r"[a-zA-Z]+(?:-[a-zA-Z]+)*"
_ID = rf"(?:(?P<new>\d{{4}}\.\d{{4,5}})|(?P<old>{_ARCHIVE})(?:\.{_ARCHIVE})?/(?P<number>\d{{7}}))"
_VERSION = r"(?:[vV](?P<version>\d+))?"  # "V2" as some hand-written lists write it
_ARXIV_FORMS = [
    re.compile(rf"(?i:arxiv:)?\s*{_ID}{_VERSION}"),
    re.compile(rf"(?i:oai:arxiv\.org:){_ID}{_VERSION}"),
    # The scheme may be left out ("arxiv.org/abs/…", "www.arxiv.org/pdf/…", "//arxiv.org/…"), as
    # hand-written files and some feeds do: read as no arXiv id, the paper was stored a second
    # time under `title:` and listed twice in one digest.
    re.compile(
        rf"(?i:(?:(?:https?:)?//)?(?:[a-z0-9-]+\.)*arxiv\.org/(?:abs|pdf|html)/){_ID}{_VERSION}"
        r"(?i:\.pdf)?/?(?:[?#].*)?"
    ),
    re.compile(rf"(?i:(?:doi:\s*|https?://(?:dx\.)?doi\.org/)?10\.48550/arxiv\.){_ID}{_VERSION}"),
]
# Query parameters that say where a click came from, not what it points at: dropped from url: ids.
_TRACKING = frozenset(
    {"af", "track", "rss", "fbclid", "gclid", "mc_cid", "mc_eid", "cmpid", "dgcid", "wt.mc_id"}
    | {"_hsenc", "_hsmi", "sc_cid", "ito"}
)
# A title's words; "+" and "#" ending a word belong to it ("C++", "C#", "F#": languages), but
# not inside one ("2+2", "C++11") or alone ("A + B"). Folded to "c", "C++ templates" and "C
# templates" were one title: two id-less papers were stored as one, the second's text lost.
_TITLE_WORD = re.compile(r"[^\W_]+(?:[+#]++(?![^\W_]))?")
_SCHEME_RANK = {"arxiv": 0, "doi": 1, "url": 2, "title": 3}
_MIN_TITLE_MATCH = 20  # shorter normalised titles ("editorial", "issue information") never merge
_MAX_VERSION_DIGITS = 6  # arXiv versions are small; "v99999999999999999999" is a bad entry


def parse_arxiv_id(text: str, *, any_version: bool = False) -> tuple[str, int | None] | None:
    """Find the arXiv id in an abs/pdf URL, oai guid, "arXiv:…" or bare id -> (id, version).

    Raises ParseError for a version no arXiv paper has (over six digits); with `any_version`
    (a reference a user typed, whose version picks nothing) such a version is read as none.
    """
    text = fold_key(text).strip()  # fullwidth or Arabic-Indic digits are the same id (issue 14)
    for pattern in _ARXIV_FORMS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        digits = match["version"]
        if digits and len(digits) > _MAX_VERSION_DIGITS:
            if any_version:
                digits = None
            else:
                raise ParseError(f"arXiv version out of range in {text[:80]!r}")
        version = int(digits) if digits else None
        if match["new"]:
            return (match["new"], version) if _is_new_style(match["new"]) else None
        return (f"{match['old'].lower()}/{match['number']}", version)
    return None


def canonical_id(entry: Entry) -> tuple[str, int | None]:
    """The entry's paper_id and arXiv version: arXiv id, else DOI, else URL, else title hash.

    A DOI is read from the entry's DOI field, its raw id, or a link whose path holds one
    (publishers serve /doi/full/10.1080/…).
    """
    for candidate in (entry.raw_id, entry.link, entry.pdf_url, entry.doi):
        found = parse_arxiv_id(candidate) if candidate else None
        if found:
            return f"arxiv:{found[0]}", found[1]
    doi = entry_doi(entry)
    if doi:
        return f"doi:{doi.lower()}", None
    for candidate in (entry.raw_id, entry.link):
        url = normalize_url(candidate) if candidate else None
        if url:
            return f"url:{url}", None
    return title_id(entry.title), None


def title_id(title: str) -> str:
    """The id of a paper known only by its title: a hash of the normalised title."""
    digest = hashlib.sha1(normalize_title(title).encode("utf-8")).hexdigest()
    return f"title:{digest[:16]}"


def entry_doi(entry: Entry) -> str | None:
    """The entry's DOI: its DOI field, else its raw id, else a DOI in its link's path."""
    return (
        clean_doi(entry.doi)
        or clean_doi(entry.raw_id)
        or doi_from_link(entry.link)
        or doi_from_link(entry.raw_id)
    )


def normalize_url(url: str) -> str | None:
    """Lowercase scheme and host; drop fragment, tracking parameters (utm_*, ?TRACK=RSS, ?af=R),
    trailing slash (None: not an absolute http(s) URL, or one urlsplit cannot read, such as a
    cut IPv6 literal "http://[::1/x": it failed the record's whole feed, and `explain`)."""
    try:
        parts = urlsplit(strip_invisible_url(url))
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(query), ""))


def strip_tracking(url: str) -> str:
    """A link as shown to readers: tracking parameters (utm_*, ?TRACK=RSS, ?af=R) dropped, the
    rest of the URL kept byte for byte (issue 14: only ids dropped them before)."""
    head, mark, rest = url.partition("?")
    if not mark:
        return url
    query, hash_, fragment = rest.partition("#")
    kept = [
        pair
        for pair in query.split("&")
        if pair and not _is_tracking(unquote_plus(pair.partition("=")[0]))
    ]
    return head + ("?" + "&".join(kept) if kept else "") + hash_ + fragment


def _is_tracking(key: str) -> bool:
    key = key.strip().lower()
    return key.startswith("utm_") or key in _TRACKING


def strip_invisible_url(url: str) -> str:
    """A URL as compared: NFKC, invisible characters removed, ends stripped."""
    return fold_key(url).strip()


def normalize_title(title: str) -> str:
    """Casefolded title with punctuation removed (but a word's closing "+"/"#": "c++", "c#") and
    whitespace collapsed, for near-dup matching.

    NFKC with format characters removed first, so a soft hyphen or zero-width space inside a
    word does not split it (issue 14).
    """
    text = fold_key(clean_text(title)).casefold()
    return " ".join(_TITLE_WORD.findall(text))


def title_words(text: str) -> str:
    """Casefolded words of `text`, all punctuation ("+" and "#" too) removed: what a filter
    phrase without "+" or "#" is looked for in ("c" is a word of "C++ code")."""
    return legacy_title_key(normalize_title(text))


def legacy_title_key(key: str) -> str:
    """`key` as `normalize_title` wrote it before a word kept its "+" and "#" ("c++ x" -> "c x"):
    the title key of a paper stored by an earlier version and not seen since."""
    return " ".join(word.rstrip("+#") for word in key.split())


def matchable_title(title: str) -> str | None:
    """The title key two records may be merged by, or None for a title too short or generic to
    identify a paper ("Editorial", "Issue information")."""
    key = normalize_title(title)
    return key if len(key) >= _MIN_TITLE_MATCH else None


def better_id(a: str, b: str) -> str:
    """The canonical one of two ids of one paper: `arxiv:` > `doi:` > `url:` > `title:`."""
    return min(a, b, key=id_rank)


def _is_new_style(arxiv_id: str) -> bool:
    """yymm.nnnn until 2014, yymm.nnnnn from 1501 (arXiv identifier scheme, 2015 change)."""
    yymm, number = arxiv_id.split(".")
    if not 1 <= int(yymm[2:]) <= 12:
        return False
    return len(number) == (5 if int(yymm) >= 1501 else 4)


def id_rank(paper_id: str) -> int:
    """How canonical an id's scheme is: 0 for `arxiv:` … 3 for `title:`."""
    return _SCHEME_RANK[paper_id.split(":", 1)[0]]
