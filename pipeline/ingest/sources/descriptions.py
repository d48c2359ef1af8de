"""Publisher metadata packed into a feed item's description, split out of the abstract.

Journals put the citation, authors and DOI into the description beside (or instead of) the
abstract: Pensoft ("ZooKeys 1078: 135-188 / DOI: … / Authors: … / Abstract: … / HTML XML PDF"),
Schweizerbart (title, "Last, First; …" authors and citation, then an "Abstract" heading), PubMed
(a citation line, "ABSTRACT", the abstract, "PMID: … | DOI: …"), Taylor & Francis (only
"Volume 67, Issue 4, December 2021, Page 283-289"), ScienceDirect ("Publication date: … Author(s):
…") and the python-feedgen HF Daily Papers feed ("Authors: … Upvotes: n Summary: …"). The rules
read labels and layout, not publishers: any feed laid out this way is unpacked the same way.
Pure: works on the description's text lines (one per HTML block); no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_LABEL = re.compile(r"^(?:abstract|summary)\b\s*[:.]?\s*(?P<rest>.*)$", re.IGNORECASE)
_AUTHORS = re.compile(r"^(?:authors?|author\(s\))\s*:\s*(?P<names>.+)$", re.IGNORECASE)
_DOI = re.compile(r"\bdoi\s*:\s*(?P<doi>10\.\d{4,9}/\S+?)[.,;]?(?=\s|$)", re.IGNORECASE)
# "PMID:34925870 | PMC:PMC8672069 | DOI:10.1098/rsos.211237": PubMed's identifier line.
_PMID = re.compile(r"^PMID:\s*\d+(?:\s*\|\s*[A-Z]+:\s*\S+)*$", re.IGNORECASE)
_PMID_DOI = re.compile(r"\|\s*DOI:\s*(?P<doi>\S+)", re.IGNORECASE)
_CITATION = re.compile(
    r"^(?:vol(?:ume)?\.?\s*\d+|publication date:).{0,200}$", re.IGNORECASE | re.DOTALL
)
_LINK_LABELS = frozenset({"html", "xml", "pdf", "epub", "full text", "fulltext", "abstract"})
_MAX_HEADER_LINES = 8  # a label further down is part of the abstract, not its start


@dataclass(frozen=True)
class Unpacked:
    """A description taken apart: the clean abstract and the metadata found around it."""

    abstract: str
    authors: str | None = None  # the names as one string, for the feed's own author splitter
    doi: str | None = None


def unpack_description(lines: Sequence[str], title: str) -> Unpacked:
    """Split the abstract from labelled metadata; plain descriptions come back unchanged."""
    lines = [" ".join(line.split()) for line in lines]
    lines = [line for line in lines if line]
    text = " ".join(lines)
    if text.startswith("Authors:") and " Summary: " in text:
        # The python-feedgen "Hugging Face Daily Papers" feed: "Authors: … Upvotes: n Summary: …".
        head, summary = text.split(" Summary: ", 1)
        return Unpacked(summary.strip(), head.removeprefix("Authors:").split(" Upvotes:")[0])
    lines, trailer_doi = _drop_trailer(lines)
    start = _abstract_start(lines)
    if start is None:
        if _CITATION.match(text) or text.startswith("Publication date:"):
            # Only a citation (Taylor & Francis, ScienceDirect): there is no abstract.
            return Unpacked("", *_read_header(lines, title))
        return Unpacked(" ".join(lines), doi=trailer_doi)
    label = _LABEL.match(lines[start])
    body = [label["rest"]] if label and label["rest"] else []
    authors, doi = _read_header(lines[:start], title)
    return Unpacked(" ".join(body + lines[start + 1 :]).strip(), authors, doi or trailer_doi)


def _abstract_start(lines: Sequence[str]) -> int | None:
    """The line that starts the abstract: an "Abstract"/"Summary" heading or label near the top."""
    for index, line in enumerate(lines[:_MAX_HEADER_LINES]):
        match = _LABEL.match(line)
        if match and (not match["rest"] or ":" in line[: len(line) - len(match["rest"])]):
            return index
    return None


def _drop_trailer(lines: list[str]) -> tuple[list[str], str | None]:
    """Remove link labels ("HTML", "PDF") and PubMed's "PMID: … | DOI: …" from the end."""
    doi = None
    while lines:
        last = lines[-1]
        if _PMID.match(last):
            found = _PMID_DOI.search(last)
            doi = doi or (found["doi"] if found else None)
        elif last.casefold() not in _LINK_LABELS:
            break
        lines = lines[:-1]
    return lines, doi


def _read_header(lines: Sequence[str], title: str) -> tuple[str | None, str | None]:
    """(authors, doi) from the lines before the abstract; the title and citation are dropped."""
    authors = doi = None
    title_key = " ".join(title.split()).casefold()
    for line in lines:
        labelled = _AUTHORS.match(line)
        if line.casefold() == title_key:
            continue
        if labelled:
            authors = labelled["names"]
        elif "Author(s):" in line:
            authors = line.rsplit("Author(s):", 1)[1].strip()
        elif authors is None and _is_name_list(line):
            authors = line
        found = _DOI.search(line)
        if found and doi is None:
            doi = found["doi"]
    return authors, doi


def _is_name_list(line: str) -> bool:
    """ "Doan-Nhu, Hai; Nguyen-Ngoc, Lam": "Last, First" names joined by semicolons, no digits."""
    pieces = [p.strip() for p in line.split(";")]
    return not any(c.isdigit() or c in "()[]:" for c in line) and all(
        p.count(",") == 1 and all(part.strip() for part in p.split(",")) for p in pieces
    )
