"""Turn the bundled arXiv OAI-PMH pages into labelled JSONL for `digest eval` (groups = categories).

Reads benchmarks/data/oai/*.xml (real ListRecords responses, copied byte for byte) and writes
benchmarks/labels/oai-2016-dev.jsonl (pages 88–89) and oai-2016-heldout.jsonl (page 90). Each line
is one paper whose primary (first-listed) category is one of CATEGORIES, with that category as its
`group`; at most PER_GROUP papers per category per file, taken in id order. `topics` is empty: the
2016 papers predate the configured topics, so these files measure discovered themes, not topics.

Example: python benchmarks/make_oai_labels.py
"""

from __future__ import annotations

import argparse
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
CATEGORIES = (
    "cs.CV", "cs.LG", "cs.IT", "cs.NI", "cs.DS", "cs.AI", "cs.CL", "cs.CR", "cs.DC", "cs.LO",
)  # fmt: skip
PER_GROUP = 120
SPLITS = {
    "oai-2016-dev.jsonl": ("arxiv_oai_ListRecords_set-cs_page88.xml",
                           "arxiv_oai_ListRecords_set-cs_page89.xml"),
    "oai-2016-heldout.jsonl": ("arxiv_oai_ListRecords_set-cs_page90.xml",),
}  # fmt: skip


def read_records(path: Path) -> list[dict[str, object]]:
    """(id, title, abstract, primary category) of every record in one OAI-PMH page."""
    records = []
    for node in ET.parse(path).getroot().iter(f"{ARXIV}arXiv"):
        categories = (node.findtext(f"{ARXIV}categories") or "").split()
        records.append(
            {
                "id": "arxiv:" + (node.findtext(f"{ARXIV}id") or "").strip(),
                "title": _one_line(node.findtext(f"{ARXIV}title") or ""),
                "abstract": _one_line(node.findtext(f"{ARXIV}abstract") or ""),
                "group": categories[0] if categories else "",
            }
        )
    return records


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    for name, pages in SPLITS.items():
        records = [r for page in pages for r in read_records(HERE / "data" / "oai" / page)]
        records.sort(key=lambda r: str(r["id"]))
        taken: Counter[str] = Counter()
        lines = []
        for record in records:
            group = str(record["group"])
            if group in CATEGORIES and taken[group] < PER_GROUP and record["abstract"]:
                taken[group] += 1
                lines.append(json.dumps({**record, "topics": [], "maybe": []}, ensure_ascii=False))
        (HERE / "labels" / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{name}: {len(lines)} papers, {dict(sorted(taken.items()))}")


if __name__ == "__main__":
    main()
