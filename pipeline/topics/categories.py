"""What no discovered theme holds, grouped by the authors' own arXiv category (issue 17).

The papers a week leaves after its themes are mostly one-off subjects of many fields: a word
problem for symmetric groups, a nurse-scheduling encoding, a memristor Ising machine. Readers
who grouped them by hand put most into field-sized themes ("Algorithms and complexity",
"Human-computer interaction"); the embedding does not know a paper's field well enough to do
the same. arXiv papers carry it: the categories their authors chose, the primary one first
(arXiv RSS, API and OAI-PMH records list it first). With `[themes] arxiv_categories` on (the
default: read blind beside the themes a digest shows, such groups were coherent as often, 75 %
against 69 %, were better named and took "Other" under 15 % on nine fresh slices;
benchmarks/README.md, thirteenth round) each such paper is placed under the first of its
categories that names a field (known to pipeline/data/arxiv-categories.txt and not a catch-all
such as cs.LG or cs.AI), and a field with MIN_PAPERS papers becomes a theme named by it
("Systems and control"), or joins a theme already named by it. The rest stay in "Other".
A discovered theme named only by its own phrases ("Code") takes the name of the field most of
its papers are in ("Information theory"; `name_by_category`). Papers without arXiv categories
(Hugging Face pages, most RSS feeds) are never grouped, and never rename a theme.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from importlib import resources

from pipeline.models import Theme

#: Categories too broad to name a group a reader would call one area: the catch-all listings,
#: the "other"/"general" ones, and cs.CY (computers and society: education, law, health, ethics;
#: in the twelfth round's second reading one reader found all eight of its groups mixed, the
#: other all eight coherent). A paper listed first in one is placed by its next category.
CATCH_ALL = frozenset(
    {
        "cs.CY",
        "cs.AI",
        "cs.LG",
        "stat.ML",
        "cs.NE",
        "cs.OH",
        "cs.GL",
        "math.GM",
        "stat.OT",
        "q-bio.OT",
        "cond-mat.other",
        "physics.gen-ph",
    }
)
#: arXiv's aliases: the same category under two codes, grouped as one.
ALIASES = {
    "eess.SY": "cs.SY",
    "math.IT": "cs.IT",
    "math.NA": "cs.NA",
    "math.ST": "stat.TH",
    "math.MP": "math-ph",
    "q-fin.EC": "econ.GN",
}
#: Fewest papers of one field shown as its theme. Read blind (twelfth round), 3-paper groups of
#: one category were coherent in 12 of 36 judgements, groups of 4 or more in 53 of 64.
MIN_PAPERS = 4
#: A discovered theme named by its own phrases takes the name of the field at least this share
#: of its papers are placed in (`name_by_category`). Read blind as the digest shows them
#: (thirteenth round), such names were preferred 92 : 38 to the phrases ("Code" over
#: coding-theory papers) and fit most titles 96 % of the time against 60 %.
NAME_AGREEMENT = 0.5
_CODE = re.compile(r"^[a-z-]+(\.[A-Za-z-]+)?$")


@functools.cache
def category_names() -> dict[str, str]:
    """arXiv category code → the name a heading uses (pipeline/data/arxiv-categories.txt)."""
    text = resources.files("pipeline").joinpath("data/arxiv-categories.txt").read_text("utf-8")
    names: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            code, name = line.split("\t")
            names[code.strip()] = name.strip()
    return names


def field_of(categories: Sequence[str]) -> str | None:
    """The first listed arXiv category that names a field (its canonical code), or None."""
    names = category_names()
    for raw in categories:
        code = ALIASES.get(raw.strip(), raw.strip())
        if _CODE.match(code) and code in names and code not in CATCH_ALL:
            return code
    return None


def group_by_category(
    other: Sequence[str],
    categories_of: Mapping[str, Sequence[str]],
    themes: Sequence[Theme],
    *,
    min_size: int,
    central: Callable[[Sequence[str]], str],
) -> tuple[list[Theme], list[str]]:
    """`themes` with the papers of `other` placed by arXiv category, and what is left.

    A field with at least `min_size` (and MIN_PAPERS) of these papers becomes a theme named by
    the field; a field whose name a discovered theme already bears, alone or first ("X and …"),
    adds its papers to that theme, however few. The themes come back largest first (so
    `max_themes` shows the largest), a new one after the discovered ones of its size.
    `central(ids)` picks a new theme's representative paper. Deterministic: the same papers and
    categories give the same result.
    """
    names = category_names()
    by_field: dict[str, list[str]] = {}
    for pid in other:
        code = field_of(categories_of.get(pid, ()))
        if code is not None:
            by_field.setdefault(code, []).append(pid)
    out = list(themes)
    new: list[Theme] = []
    placed: set[str] = set()
    for code in sorted(by_field):
        members = sorted(by_field[code])
        label = names[code]
        i = _named_like(label, themes)
        if i is not None:
            out[i] = Theme(
                theme_id=out[i].theme_id,
                label=out[i].label,
                terms=out[i].terms,
                paper_ids=tuple(sorted((*out[i].paper_ids, *members))),
                representative=out[i].representative,
            )
        elif len(members) >= max(min_size, MIN_PAPERS):
            new.append(
                Theme(
                    theme_id=category_theme_id(code),
                    label=label,
                    # Its only term: digest.md.j2 captions a theme whose first term starts
                    # "arXiv " as "Papers of arXiv cs.SY" instead of listing key phrases.
                    terms=(f"arXiv {code}",),
                    paper_ids=tuple(members),
                    representative=central(members),
                )
            )
        else:
            continue
        placed.update(members)
    new.sort(key=lambda t: (-len(t.paper_ids), t.label))
    # Largest first, a theme that papers joined included, so the `max_themes` largest are the
    # ones shown in full; a new theme follows the discovered ones of its size (a stable sort).
    out = sorted([*out, *new], key=lambda t: -len(t.paper_ids))
    return out, [pid for pid in other if pid not in placed]


def _named_like(label: str, themes: Sequence[Theme]) -> int | None:
    """The first theme named `label`, or "`label` and …" ("Networking and communications" for
    cs.NI's "Networking"): the field's papers join it rather than stand beside it."""
    wanted = label.casefold()
    for i, theme in enumerate(themes):
        name = theme.label.casefold()
        if name == wanted or name.startswith(wanted + " and "):
            return i
    return None


def category_theme_id(code: str) -> str:
    """A category theme's id: its code's, so it is the same theme every week."""
    return "theme-" + hashlib.sha1(f"arxiv:{code}".encode()).hexdigest()[:8]


def name_by_category(
    themes: Sequence[Theme],
    categories_of: Mapping[str, Sequence[str]],
    *,
    fixed: Collection[str] = (),
) -> list[Theme]:
    """`themes`, each named by its own phrases taking the name of the field (`field_of`) that
    NAME_AGREEMENT of its papers are placed in: "Information theory" for "Code" over papers on
    linear codes. A theme named by a research area (`fixed`: the vocabulary's names) or by a
    field already keeps its name; so does one whose field's name another theme bears, and of
    two themes of one field only the larger (then the lower id) takes it. Papers without arXiv
    categories never rename a theme. Only names change: ids, terms and papers stay."""
    names = category_names()
    keep = {*fixed, *names.values()}
    taken = {theme.label.casefold() for theme in themes}
    chosen: dict[int, str] = {}
    order = sorted(
        range(len(themes)), key=lambda i: (-len(themes[i].paper_ids), themes[i].theme_id)
    )
    for i in order:
        theme = themes[i]
        if theme.label in keep or not theme.paper_ids:
            continue
        placed = (field_of(categories_of.get(pid, ())) for pid in theme.paper_ids)
        fields = Counter(code for code in placed if code is not None)
        if not fields:
            continue
        code, count = min(fields.items(), key=lambda item: (-item[1], item[0]))
        name = names[code]
        if count >= NAME_AGREEMENT * len(theme.paper_ids) and name.casefold() not in taken:
            chosen[i] = name
            taken.add(name.casefold())
    return [
        dataclasses.replace(theme, label=chosen[i]) if i in chosen else theme
        for i, theme in enumerate(themes)
    ]
