"""Bundle the shared 7,000-record arXiv OAI corpus as compact JSONL for the topic benchmark.

Reads every ListRecords page in ../shared/fixtures/corpora/arxiv-oai-cs-2016 (real OAI-PMH
responses) and writes benchmarks/data/oai-cs-2016-papers.jsonl.gz: one object per record with
`id` (arxiv:…), `title`, `abstract` (whitespace collapsed) and `categories` (all of them, in arXiv's
order), sorted by id, duplicates dropped. `eval_topics.py` reads only this file, so the benchmark
runs from a fresh clone.

Example: python benchmarks/make_topic_corpus.py [--source DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = Path("shared/fixtures/corpora/arxiv-oai-cs-2016")
CORPUS = HERE / "data" / "oai-cs-2016-papers.jsonl.gz"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"


def default_source() -> Path:
    """../shared beside the checkout (a worktree one level deeper also finds it)."""
    for root in (HERE.parent.parent, HERE.parent.parent.parent):
        if (root / FIXTURE).is_dir():
            return root / FIXTURE
    return HERE.parent.parent / FIXTURE


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def read_page(path: Path) -> list[dict[str, object]]:
    """Every record of one OAI-PMH page with an abstract and at least one category."""
    records = []
    for node in ET.parse(path).getroot().iter(f"{ARXIV}arXiv"):
        categories = (node.findtext(f"{ARXIV}categories") or "").split()
        abstract = _one_line(node.findtext(f"{ARXIV}abstract") or "")
        if not categories or not abstract:
            continue
        records.append(
            {
                "id": "arxiv:" + (node.findtext(f"{ARXIV}id") or "").strip(),
                "title": _one_line(node.findtext(f"{ARXIV}title") or ""),
                "abstract": abstract,
                "categories": categories,
            }
        )
    return records


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=default_source(), help="the OAI pages")
    args = parser.parse_args()
    pages = sorted(args.source.glob("*.xml"))
    if not pages:  # never replace the bundled corpus with an empty one
        sys.exit(f"no OAI-PMH pages (*.xml) in {args.source}: {CORPUS.name} left as it is")
    records = {str(r["id"]): r for page in pages for r in read_page(page)}
    lines = [json.dumps(records[k], ensure_ascii=False) for k in sorted(records)]
    with gzip.open(CORPUS, "wt", encoding="utf-8", compresslevel=9) as out:
        out.write("\n".join(lines) + "\n")
    print(f"{CORPUS.name}: {len(lines)} papers")


if __name__ == "__main__":
    main()
