"""Field cleaning every entry goes through: text, personal names, DOIs, dates, look-alike keys.

Pure: the standard library plus ftfy (mojibake), pylatexenc (TeX accents) and nameparser (name
suffixes); imports nothing from the package. `normalize.normalize_entry` applies these rules to
every source's entries, so a name, title or id reads the same whichever feed delivered it
(issue 14). Non-goals: deciding ids or merging records (that is `normalize`).
"""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from html.parser import HTMLParser

import ftfy
from nameparser.config import CONSTANTS
from pylatexenc.latex2text import LatexNodes2Text

# Invisible characters that carry no text: BOM, zero-width space, soft hyphen, word joiner,
# direction marks. They defeat equality (a title key, an id) and show as nothing. Zero-width
# (non-)joiners are kept in shown text (Persian and Indic words need them) but not in keys.
# Bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) too (round 23): the
# digest dropped them, but `explain`, `topics` and the JSON sidecar printed a title's U+202E,
# which showed the rest of a terminal line reversed ("evil" read "live"); Arabic and Hebrew
# text runs right to left without them.
_BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u00ad\u2060\u200e\u200f\u180e" + _BIDI_CONTROLS))
# A TeX accent or special letter as arXiv authors type them: \"o, \'{e}, \v{z}, {\o}, \ss, {\"u}.
_TEX = re.compile(
    r"\{\\[^{}\\]*(?:\{[^{}]*\}[^{}\\]*)?\}"  # {\o}, {\"o}, {\'{e}}
    r"|\\[`'^\"~=.]\s*(?:\{[A-Za-z\\]{0,2}\}|[A-Za-z])"  # \"o, \'{e}, \^{\i}
    r"|\\[uvHcdbrk]\s*\{[A-Za-z\\]{0,2}\}"  # \v{z}, \c{c}
    r"|\\[uvHcdbrk] [A-Za-z]"  # \v z
    r"|\\(?:ss|o|O|l|L|ae|AE|oe|OE|aa|AA|i|j)(?![A-Za-z])(?:\{\}|\s)?"  # \ss, \o
)
# In a name, a letter-named accent glued to its letter ("Fran\\ccois", a real arXiv author) is
# that accent on that letter; in titles and abstracts such a run may be a macro, so names only.
_GLUED_ACCENT = re.compile(r"\\([uvHcdbrk])([A-Za-z])")
# A tag's name is followed by attributes, "/" or ">": not by "$", so TeX's "$k<p$ and $q>r$"
# is no <p> tag (it was stripped, leaving "$kr$").
_TAG = re.compile(
    r"</?(?:a|b|i|u|p|br|em|strong|sub|sup|div|span|font|tt|code|pre|ul|ol|li|h[1-6]|img|"
    r"blockquote|(?:jats|mml):[\w-]+)"
    r"(?:\s+[^\s<>$=/\"']+(?:\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'|[^\s\"'<>]+))?)*\s*/?>",
    re.IGNORECASE,
)
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);", re.IGNORECASE)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# OJS: "Hege Vårdal ( )", an empty affiliation; "Name <mail@host>" once the address is removed
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]|<\s*>")
_EMAIL = re.compile(r"[^\s()<>]+@[^\s()<>]+")
_AND = re.compile(r"\s+(?:and|&)\s+|\s*;\s*", re.IGNORECASE)
_DOI_PREFIX = re.compile(
    r"^(?:doi:\s*|info:doi/|urn:doi:|https?://(?:dx\.)?doi\.org/)", re.IGNORECASE
)
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
# A DOI inside a link's path: publishers serve /doi/10.1080/…, /doi/full/10.1080/…, /doi/abs/…
_DOI_IN_PATH = re.compile(r"/(10\.\d{4,9}/[^?#\s]+)")
_DOI_PATH_TAIL = re.compile(r"/(?:abstract|full|pdf|epdf|html|fulltext|meta)/?$", re.IGNORECASE)
# Generational suffixes only ("Jr.", "III"); nameparser's acronym list (MD, PhD, BA, …) would
# also match real surnames.
_SUFFIXES = frozenset(CONSTANTS.suffix_not_acronyms) - {"2", "i", "v"} | {"ii", "iii", "iv"}


def strip_invisible(text: str) -> str:
    """Drop BOMs, zero-width spaces, soft hyphens, direction marks and bidi embeddings,
    overrides and isolates from shown text."""
    return text.translate(_INVISIBLE)


def fold_key(text: str) -> str:
    """NFKC, every format character removed, every decimal digit as ASCII: for comparing keys.

    Fullwidth digits fold under NFKC; Arabic-Indic and other scripts' digits do not, so they are
    mapped through their Unicode decimal value ("٢٤٠٤" -> "2404").
    """
    text = unicodedata.normalize("NFKC", text)
    return "".join(
        str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c
        for c in text
        if unicodedata.category(c) != "Cf"
    )


def decode_tex(text: str) -> str:
    """TeX accents and special letters to Unicode ("J\\"org" -> "Jörg"); other TeX stays."""
    if "\\" not in text:
        return text
    return unicodedata.normalize("NFC", _TEX.sub(lambda m: _tex_to_text(m.group()), text))


def clean_text(text: str, *, keep_paragraphs: bool = False) -> str:
    """Feed text as shown: stray HTML and control characters stripped, entities unescaped,
    mojibake repaired, BOMs and zero-width characters dropped, whitespace collapsed."""
    if _TAG.search(text):
        text = _strip_tags(text)
    elif _ENTITY.search(text):
        text = html.unescape(text)
    text = fix_text(text)
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    if not keep_paragraphs:
        return " ".join(text.split())
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def fix_text(text: str) -> str:
    """Shown text made faithful: mojibake repaired, entities decoded, invisibles dropped, NFC.

    TeX is left alone here (abstracts are full of it); names and titles add `decode_tex`.
    """
    if _looks_encoded(text):
        text = ftfy.fix_encoding(text)  # before stripping: a soft hyphen can be half of "Ã\xad"
    text = strip_invisible(text)
    if "&" in text:
        text = html.unescape(text)
    return unicodedata.normalize("NFC", text)


def split_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """Names one per item: "A and B", "A & B" and "A; B" split; "Last, First" -> "First Last";
    "et al." is not a name."""
    result: list[str] = []
    for name in names:
        for piece in _AND.split(name):
            cleaned = clean_name(piece)
            if cleaned and cleaned.casefold().rstrip(".") not in ("et al", "others"):
                result.append(cleaned)
    return tuple(result)


def clean_name(name: str) -> str:
    """One personal name as shown: e-mail removed, TeX decoded, "Last, First[, Jr.]" reordered."""
    text = _GLUED_ACCENT.sub(r"\\\1{\2}", fix_text(_EMAIL.sub(" ", name)))
    text = _EMPTY_BRACKETS.sub(" ", decode_tex(text))
    text = " ".join(text.split()).strip(" ,;")
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()  # "mail@host (Name)" left "(Name)"
    if "," not in text:
        return text
    pieces = [p.strip() for p in text.split(",") if p.strip()]
    suffixes = [p for p in pieces if p.lower().rstrip(".") in _SUFFIXES]
    rest = [p for p in pieces if p not in suffixes]
    if len(rest) == 1 and " " not in rest[0]:
        rest, suffixes = pieces, []  # "Smith, V." is an initial, not the suffix "V"
    if len(rest) == 2:
        rest = [rest[1], rest[0]]
    elif len(rest) != 1:
        return text
    return " ".join([*rest, *suffixes])


def clean_doi(value: str | None) -> str | None:
    """The bare DOI ("10.1101/x") from "doi:…", "info:doi/…", a doi.org link or a bare DOI."""
    if not value:
        return None
    bare = _DOI_PREFIX.sub("", fold_key(value).strip()).split("?")[0].split("#")[0]
    return bare.rstrip(".,;") if _DOI.match(bare) else None


def doi_from_link(url: str | None) -> str | None:
    """A DOI in a link's path (https://www.tandfonline.com/doi/full/10.1080/x?af=R -> 10.1080/x)."""
    if not url:
        return None
    match = _DOI_IN_PATH.search(url.split("?")[0].split("#")[0])
    return clean_doi(_DOI_PATH_TAIL.sub("", match[1])) if match else None


def parse_date(text: str | None) -> datetime | None:
    """A feed date in its own offset: RFC 822 ("Mon, 27 Apr 2026 00:00:00 -0400") or ISO 8601
    ("2025-08-20T00:00:00-04:00", "2025-08-20"); naive values are UTC, unreadable ones None."""
    if not text or not text.strip():
        return None
    value = text.strip()
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            parsed = datetime.fromisoformat(value)
        except (ValueError, OverflowError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@lru_cache(maxsize=4096)
def _tex_to_text(fragment: str) -> str:
    return str(LatexNodes2Text().latex_to_text(fragment))


def _looks_encoded(text: str) -> bool:
    """UTF-8 read as Latin-1/cp1252 leaves 'Ã', 'Â' or 'â€' pairs; plain text rarely has them."""
    return any(marker in text for marker in ("Ã", "Â", "â€", "Ä", "Å"))


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("p", "br", "div", "li"):
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _strip_tags(text: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(text)
    extractor.close()
    return "".join(extractor.parts)
