"""Papers' readings for naming themes, kept in the store between builds (round 22).

Naming a week's themes reads its papers' texts: each text's phrases, the tokens it writes
specially and its words' roots (topics/phrases.py, topics/areas.py), about 2 s of CPU of a
real 10,000-paper week, every build. A paper's text seldom changes, so what those rules make of
it is kept, compressed (`phrases.pack_reading`, about 1.1 kB a paper), in the store's
`paper_readings` table, one row a paper: an ingest reads its new papers (`ensure`), a build
takes the kept readings of its week's papers (`kept`), reads afresh only the papers without one,
and saves those.

It cannot go stale: a row counts only when its stamp is the one the paper's title and text
give under this code (`stamp`: the sha256 of the rules' source files, the word list they read,
the reading format and Python's Unicode tables, then the title and text). Other text or
other rules give another stamp, and the paper is read again (its row replaced). Nothing in a
stamp names the machine or a path: a store copied to a machine with the same code keeps its
readings (another Python's Unicode tables read them again). A paper's row
goes with it (`Store.rekey_paper`), so the table never holds more rows than papers.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path

from pipeline.models import Paper
from pipeline.store import Store
from pipeline.topics import areas, phrases

#: The stamp's length in bytes (of its sha256): 2^-128 is no risk of two stamps alike.
STAMP_BYTES = 16


@cache
def rules_version() -> bytes | None:
    """A hash of what a reading depends on besides the paper: the source of the modules whose
    rules make it (topics/phrases.py, topics/areas.py), the stop words they read, the reading
    format and the Unicode tables Python's str methods follow; None when a source cannot be
    read (then nothing is kept)."""
    digest = hashlib.sha256(f"{phrases.READING_FORMAT}\0{unicodedata.unidata_version}\0".encode())
    try:
        for module in (phrases, areas):
            digest.update(Path(module.__file__ or "").read_bytes())
        digest.update(resources.files("pipeline").joinpath("data/stop_words.txt").read_bytes())
    except OSError:
        return None
    return digest.digest()


def stamp(version: bytes, paper: Paper) -> bytes:
    """The stamp a paper's kept reading must carry: `version`, its title and its text."""
    digest = hashlib.sha256(version)
    for text in (paper.title, paper.text):  # each one's length first: no two pairs read alike
        digest.update(f"\0{len(text)}:{text}".encode("utf-8", "surrogatepass"))
    return digest.digest()[:STAMP_BYTES]


def read(papers: Sequence[Paper]) -> list[bytes]:
    """The papers' readings, packed to keep (phrases.pack_reading), by one reader."""
    reader, words = phrases.PaperReader(), areas.words_reader()
    return [phrases.pack_reading([*reader.parts(p.text, p.title), words(p.text)]) for p in papers]


def ensure(store: Store, papers: Sequence[Paper]) -> dict[str, bytes]:
    """Each paper's packed reading, by paper id: the kept one when its stamp holds, else read
    now and saved (replacing the paper's older row); {} when the rules' source is unreadable."""
    version = rules_version()
    if version is None:
        return {}
    stamps = {p.paper_id: stamp(version, p) for p in papers}
    kept = store.get_readings(list(stamps))
    found = {pid: row[1] for pid, row in kept.items() if row[0] == stamps[pid]}
    unread = [p for p in dict((p.paper_id, p) for p in papers).values() if p.paper_id not in found]
    if unread:
        packed = read(unread)
        found.update(zip((p.paper_id for p in unread), packed, strict=True))
        store.save_readings(
            [(p.paper_id, stamps[p.paper_id], r) for p, r in zip(unread, packed, strict=True)]
        )
    return found


@contextmanager
def kept(store: Store, papers: Sequence[Paper]) -> Iterator[None]:
    """A block (a build's decisions) in which naming takes the `papers`' texts and titles from
    their readings (`ensure`: kept ones, the others read once and saved)."""
    packed = ensure(store, papers)
    by_text = {p.text: packed[p.paper_id] for p in papers if p.paper_id in packed}
    by_title = {p.title: packed[p.paper_id] for p in papers if p.paper_id in packed}
    with phrases.stored_readings(phrases.StoredReadings(by_text, by_title)):
        yield
