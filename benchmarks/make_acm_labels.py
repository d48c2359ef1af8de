"""The authors' own fine classes of the 2016 OAI corpus: ACM and MSC codes, as independent labels.

Reads every ListRecords page in ../shared/fixtures/corpora/arxiv-oai-cs-2016 (the real OAI-PMH
responses that make_topic_corpus.py bundles) and writes benchmarks/labels/oai-2016-classes.jsonl:
one object per record that carries an `<acm-class>` and/or `<msc-class>`, in id order,

    {"id": "arxiv:0704.0062", "acm": ["G.3", "E.1", "F.1.2", "J.3"], "msc": []}

with ids spelt as in data/oai-cs-2016-papers.jsonl.gz. The classes are the authors' choice at
submission; this project never tuned anything on them. Only this script reads ../shared: the
benchmark (bench_bertopic.py --gold acm|msc) reads the JSONL.

Normalisation, in the authors' order: ACM: the field split on ";" or ",", each part stripped,
empty parts dropped, kept as written ("I.2.7", "E.4.x", even "Verification"). MSC: the same split,
then only the code-shaped tokens are kept ("05C85", "68Q", "94B", "68", "60-04", "37Hxx"): the
field also holds words ("(Primary)", "Secondary:", "Operations research"), codes separated only
by spaces ("68R10 68Q42"), and a few ACM codes or arXiv categories put there by mistake (dropped).

Example: python benchmarks/make_acm_labels.py [--source DIR]
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
LABELS = HERE / "labels" / "oai-2016-classes.jsonl"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
# An MSC code or a prefix of one: 2 digits, then a letter or "-", then 2 digits or "xx".
MSC_CODE = re.compile(r"(?<![\w.])(\d\d(?:[A-Z-](?:\d\d|xx)?)?)(?![\w.])", re.IGNORECASE)


def default_source() -> Path:
    """../shared beside the checkout (a worktree one level deeper also finds it)."""
    for root in (HERE.parent.parent, HERE.parent.parent.parent):
        if (root / FIXTURE).is_dir():
            return root / FIXTURE
    return HERE.parent.parent / FIXTURE


def split_classes(field: str | None) -> list[str]:
    """The field's parts: split on ";" or ",", stripped, empties dropped."""
    return [part.strip() for part in re.split(r"[;,]", field or "") if part.strip()]


def msc_codes(field: str | None) -> list[str]:
    """The MSC codes of the field, in order, without the words around them; "xx" upper-cased."""
    codes = []
    for part in split_classes(field):
        codes += [c[:3] + c[3:].upper() if c[3:].lower() == "xx" else c.upper()
                  for c in MSC_CODE.findall(part)]  # fmt: skip
    return codes


def read_page(path: Path) -> dict[str, dict[str, object]]:
    """Id → classes, for the records of one page that carry either class."""
    found = {}
    for node in ET.parse(path).getroot().iter(f"{ARXIV}arXiv"):
        acm = split_classes(node.findtext(f"{ARXIV}acm-class"))
        msc = msc_codes(node.findtext(f"{ARXIV}msc-class"))
        if acm or msc:
            pid = "arxiv:" + (node.findtext(f"{ARXIV}id") or "").strip()
            found[pid] = {"id": pid, "acm": acm, "msc": msc}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=default_source())
    args = parser.parse_args()
    pages = sorted(args.source.glob("*.xml"))
    if not pages:  # never replace the committed labels with an empty file
        sys.exit(f"no OAI-PMH pages (*.xml) in {args.source}: {LABELS.name} left as it is")
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        corpus = {json.loads(line)["id"] for line in f if line.strip()}
    records: dict[str, dict[str, object]] = {}
    for page in pages:
        records |= read_page(page)  # a later page wins, as in make_topic_corpus.py
    kept = [records[pid] for pid in sorted(records) if pid in corpus]
    LABELS.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
    n_acm = sum(1 for r in kept if r["acm"])
    n_msc = sum(1 for r in kept if r["msc"])
    print(f"{LABELS.name}: {len(kept)} papers ({n_acm} with ACM, {n_msc} with MSC classes); "
          f"{len(records) - len(kept)} not in the corpus")  # fmt: skip


if __name__ == "__main__":
    main()
