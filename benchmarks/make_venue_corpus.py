"""Write data/iclr2021-papers.jsonl.gz from the ICLR 2021 paper list (issue 16, round 15).

`python -m benchmarks.make_venue_corpus PAPERLIST.tsv` where PAPERLIST.tsv is (a leading part
of) `paperlist.tsv` of github.com/evanzd/ICLR2021-OpenReviewData, commit 39038e1 (columns
paper_id, title, link, keywords, abstract; tab-separated; a header line). A last line cut short
is dropped, as is any line whose link does not name its id; `--exclude` leaves out the papers
of an earlier part (`--out data/iclr2021-papers-2.jsonl.gz --exclude data/iclr2021-papers.jsonl.gz`
writes the rest of the list). One JSON object per paper: id,
title, abstract (whitespace collapsed), keywords (the authors', as a list), in file order.

Round 19 reads the NeurIPS 2023 lists too: `python -m benchmarks.make_venue_corpus oral.csv
spotlight.csv poster.csv --out data/neurips2023-papers.jsonl.gz`, the files of
github.com/chengyao-xie/NeurIPS2023-OpenReviewData, commit 209d3d7 (same columns,
comma-separated). Their quoting is loose: titles are not quoted even when they hold a comma, and
quotes inside an abstract are not doubled, so a csv reader splits such lines wrongly. A line is
read instead as: id, title, the forum link naming that id, the keywords in quotes, the abstract
in quotes to the end of the line; a line cut short (no closing quote) does not match and is
dropped. Several files are read in the order given; an id already read is skipped.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "iclr2021-papers.jsonl.gz"
HEADER = ["paper_id", "title", "link", "keywords", "abstract"]
#: One paper line of the NeurIPS 2023 lists (comma-separated, loosely quoted; see above).
CSV_LINE = re.compile(
    r"(?P<id>[A-Za-z0-9_-]+),(?P<title>.*),https://openreview\.net/forum\?id=(?P=id),"
    r'"(?P<keywords>[^"]*)","(?P<abstract>.*)"'
)


def paper(paper_id: str, title: str, keywords: str, abstract: str) -> dict[str, object]:
    """One paper's JSON object."""
    return {
        "id": paper_id,
        "title": " ".join(title.split()),
        "abstract": " ".join(abstract.split()),
        "keywords": [k.strip() for k in keywords.split(",") if k.strip()],
    }


def csv_rows(text: str) -> Iterator[dict[str, object]]:
    """The well-formed paper lines of a (possibly truncated) NeurIPS 2023 list."""
    for line in text.split("\n")[1:]:
        match = CSV_LINE.fullmatch(line)
        if match:
            yield paper(match["id"], match["title"], match["keywords"], match["abstract"])


def rows(text: str) -> Iterator[dict[str, object]]:
    """The well-formed paper lines of a (possibly truncated) paper list."""
    lines = text.split("\n")
    if lines[0].split(",") == HEADER:
        yield from csv_rows(text)
        return
    if lines[0].split("\t") != HEADER:
        raise SystemExit(f"not the paper list: header {lines[0][:80]!r}")
    complete = lines[1:] if text.endswith("\n") else lines[1:-1]
    seen: set[str] = set()
    for line in complete:
        fields = line.split("\t")
        if len(fields) != 5:
            continue
        paper_id, title, link, keywords, abstract = fields
        if not link.endswith("id=" + paper_id) or paper_id in seen:
            continue
        seen.add(paper_id)
        yield paper(paper_id, title, keywords, abstract.strip('"'))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paperlist", type=Path, nargs="+", help="one or more lists, in order")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--exclude", type=Path, help="leave out the ids this written file holds")
    args = parser.parse_args(argv)
    papers, seen = [], set()
    for paperlist in args.paperlist:
        read = list(rows(paperlist.read_text(encoding="utf-8")))
        print(f"{paperlist}: {len(read)} papers", file=sys.stderr)
        for p in read:
            if p["id"] not in seen:
                seen.add(p["id"])
                papers.append(p)
    if args.exclude:
        with gzip.open(args.exclude, "rt", encoding="utf-8") as f:
            known = {json.loads(line)["id"] for line in f if line.strip()}
        papers = [p for p in papers if p["id"] not in known]
    with gzip.GzipFile(args.out, "wb", mtime=0) as raw:
        raw.write("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in papers).encode())
    with_keywords = sum(1 for p in papers if p["keywords"])
    print(f"{len(papers)} papers ({with_keywords} with keywords) -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
