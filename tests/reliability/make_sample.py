"""Regenerate tests/data/reliability/arxiv-oai-cs-2016-page90.jsonl from the shared OAI corpus.

Real arXiv metadata (CC0), one JSON object per line; the abstract is cut to its first sentence so
that the kill trials' real-model embedding stays cheap. Run from the repository root:
    python tests/reliability/make_sample.py /work/shared/fixtures/corpora/arxiv-oai-cs-2016
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

NS = {"a": "http://arxiv.org/OAI/arXiv/"}
PAGE = "arxiv_oai_ListRecords_set-cs_page90.xml"
OUT = Path(__file__).parent.parent / "data" / "reliability" / "arxiv-oai-cs-2016-page90.jsonl"


def _text(node: ET.Element, path: str) -> str:
    found = node.find(path, NS)
    return " ".join((found.text or "").split()) if found is not None else ""


def main(corpus: Path) -> None:
    root = ET.parse(corpus / PAGE).getroot()
    lines = []
    for record in root.iter("{http://arxiv.org/OAI/arXiv/}arXiv"):
        abstract = _text(record, "a:abstract")
        first = re.split(r"(?<=[.!?])\s+(?=[A-Z])", abstract, maxsplit=1)[0]
        authors = [
            " ".join(filter(None, (_text(a, "a:forenames"), _text(a, "a:keyname"))))
            for a in record.iterfind("a:authors/a:author", NS)
        ]
        lines.append(
            json.dumps(
                {
                    "id": _text(record, "a:id"),
                    "title": _text(record, "a:title"),
                    "abstract": first,
                    "authors": authors,
                    "categories": _text(record, "a:categories"),
                    "published": _text(record, "a:created"),
                },
                ensure_ascii=False,
            )
        )
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} records -> {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
