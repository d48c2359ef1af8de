"""Paper text made readable on its own: LaTeX → text, and a short extractive summary (pure).

Titles go through pylatexenc (`PB$^2$` → `PB²`); abstracts through a few cheap rewrites (most have
no markup and this runs for every paper of the week). A summary is whole sentences chosen from the
abstract, never one that starts by pointing back at a sentence left out (issue 13), capped in
length. Imports only the standard library and pylatexenc.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache

from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec
from pylatexenc.latex2text import get_default_latex_context_db as text_macros
from pylatexenc.latexwalker import LatexWalker, LatexWalkerError
from pylatexenc.latexwalker import get_default_latex_context_db as parsed_macros
from pylatexenc.macrospec import LatexContextDb, MacroSpec

# A LaTeX macro, and \(…\) math, where one is expected as in $…$ (`_MATH_SPAN`).
_MACRO = re.compile(r"\\[A-Za-z]+")
_PAREN_MATH = re.compile(r"\\\(.*?\\\)")
_ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "etc.", "vs.", "cf.", "Fig.", "Eq.", "resp.", "approx.")
# Whitespace after . ! or ? before what opens a sentence. The lookbehind follows the first
# space (not before it) so the scan jumps from space to space: the same splits, half the time.
_SENTENCE_END = re.compile(r"\s(?<=[.!?]\s)\s*(?=[\"'(\[]?[A-Z0-9])")
_CONTRIBUTION_VERBS = (
    "propose|present|introduce|develop|show|demonstrate|design|study|investigate|find|release"
)
# Each verb as a verb, a whole word: "findings", "development", "presentation" and "showcase"
# begin like one and made "We verified these findings using real music data." a summary.
_VERB_FORMS = (
    r"propose[sd]?|present(?:s|ed|ing)?|introduce[sd]?|develop(?:s|ed|ing)?|show(?:s|ed|n|ing)?"
    r"|demonstrate[sd]?|design(?:s|ed|ing)?|study(?:ing)?|investigate[sd]?|finds?|release[sd]?"
)
_CONTRIBUTION = re.compile(
    rf"\b(we|this (paper|work|study)|here,? we|in this (paper|work))\b[^.]{{0,60}}?\b"
    rf"({_VERB_FORMS})\b",
    re.IGNORECASE,
)
# Every form above contains its verb: a sentence without one cannot match (_may_contribute).
_VERBS = tuple(_CONTRIBUTION_VERBS.split("|"))
_LATEX_WRAPPERS = re.compile(
    r"\\(?:emph|textbf|textit|texttt|textsc|textrm|mathrm|mathbf|mathit|text|underline)\{([^{}]*)\}"
)
_LATEX_GROUP = re.compile(r"\{\\(?:em|bf|it|tt|sc)\s+([^{}]*)\}")
_LATEX_HREF = re.compile(r"\\href\{[^{}]*\}\{([^{}]*)\}")
_LATEX_URL = re.compile(r"\\url\{([^{}]*)\}")
_LATEX_CITE = re.compile(r"\s*\\(?:cite|citep|citet|ref)\{[^{}]*\}")
_LATEX_ESCAPE = re.compile(r"\\([%&_#$])")
_LATEX_SYMBOLS = {
    "times": "×",
    "sim": "~",
    "approx": "≈",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "pm": "±",
    "rightarrow": "→",
    "to": "→",
    "infty": "∞",
    "ell": "ℓ",
    "cdot": "·",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "theta": "θ",
    "lambda": "λ",
    "mu": "μ",
    "pi": "π",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "omega": "ω",
}
_LATEX_SYMBOL = re.compile(
    r"\\(" + "|".join(sorted(_LATEX_SYMBOLS, key=len, reverse=True)) + r")(?![a-zA-Z])"
)
# Every $…$ span, the dollars paired left to right (an escaped \$ is no delimiter): only the
# short ones without a command are unwrapped. Matching just those let the closing dollar of
# "$\bm{x}$" open a span, so "$\bm{x}$ over a $q$-ary" read "$\bm{x} over a q$-ary".
_MATH_SPAN = re.compile(r"(?<!\\)\$([^$]*?)(?<!\\)\$")
# Openers that point back at a sentence the summary leaves out ("To this end, we propose …").
_CONNECTIVE = re.compile(
    r"^(?:to (?:this end|address (?:this|these|it|them|such)[^,]{0,40}|tackle[^,]{0,40}|"
    r"overcome[^,]{0,40}|bridge[^,]{0,40}|fill[^,]{0,40}|mitigate[^,]{0,40}|solve[^,]{0,40})|"
    r"based on (?:this|these|our)[^,]{0,40}|motivated by[^,]{0,40}|in response|"
    r"therefore|thus|hence|however|consequently|instead|specifically|in particular|moreover|"
    r"furthermore|additionally|in addition|finally|besides|"
    r"in this (?:paper|work|study)|here|accordingly),\s+",
    re.IGNORECASE,
)
_SUPERSCRIPTS = dict(zip("0123456789+-=()nix", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱˣ", strict=True))
_SUBSCRIPTS = dict(zip("0123456789+-=()aeoxhklmnpst", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜ", strict=True))
_SCRIPT = re.compile(r"([\^_])(?:\{([^{}]{1,12})\}|([0-9a-zA-Z+\-]))")
_MACRO_END = re.compile(r"\\[A-Za-z]+$")
_BARE_PERCENT = re.compile(r"(?<!\\)%")
_BARE_DOLLAR = re.compile(r"(?<!\\)\$")
_BARE_AMPERSAND = re.compile(r"(?<!\\)&")
# A sentence that opens by pointing at one the summary leaves out: "These results suggest …",
# "Such methods …", "It also …". "This paper/work/study …" introduces, it does not point back.
_BACK_REFERENCE = re.compile(
    r"^(?:these|those|such|they|it|its|this(?!\s+(?:paper|work|study|article|survey|thesis|"
    r"report|letter|position|tutorial|dissertation|note|chapter|benchmark|dataset)\b))\b",
    re.IGNORECASE,
)
# A sentence that only says where the code or data is ("We release our code and data to
# facilitate reproducibility.", "… is released at: https://github.com/…"): the digest links the
# code already, and such a sentence says nothing of what the paper does.
_CODE_OR_DATA = (
    r"(?:code|codes|codebase|data|datasets?|models?|weights|implementation|checkpoints?)"
)
_AVAILABILITY = re.compile(
    r"\b(?:available|released|accessible|hosted)\s+(?:at|on|from|via|in)\s*:?\s*"
    r"(?:https?://|www\.|github)"
    rf"|\b(?:our|the)\s+(?:[\w-]+\s+){{0,2}}?{_CODE_OR_DATA}\b[^.,;]{{0,25}}?"
    r"\b(?:is|are|will be|has been|have been)\s+(?:made\s+)?(?:publicly\s+|freely\s+|openly\s+)?"
    r"(?:available|released|open[- ]sourced?)\b"
    r"|\b(?:releas(?:e|ed|ing)|open[- ]sourc(?:e|ed|ing))\s+(?:our|the|all)\s+"
    rf"(?:[\w-]+,?\s+){{0,3}}?{_CODE_OR_DATA}\b",
    re.IGNORECASE,
)
# An opening clause that leans on what came before ("Exploiting these findings, we …", "Building
# on this insight, …"): dropped when the rest is a sentence of its own.
_LEANING_CLAUSE = re.compile(
    r"^(?![^,]*\b(?:we|our|I)\b)[A-Z][\w\s-]{0,50}?"
    r"\b(?:(?:this|these|those|such|above|aforementioned|them|it)\b"
    r"(?!\s+(?:paper|work|study|article|letter)\b)|the\s+(?:challenges?|problems?|issues?|gaps?|"
    r"limitations?|shortcomings?|findings?|observations?|insights?|results?)\b(?!\s+of\b))"
    r"[\w\s-]{0,30},\s+(?=[a-zA-Z])"
)
# ... and the same without the comma, where "we" starts the sentence proper ("To address this
# problem we present …", "Finally we discuss …", "Thus in this work, we …").
_LEANING_BEFORE_WE = re.compile(
    r"^(?:[A-Z][\w\s-]{0,40}?\b(?:this|these|those|such)\b(?!\s+(?:paper|work|study)\b)"
    r"[\w\s-]{0,30}?|(?:finally|thus|hence|therefore|moreover|furthermore|then|next|also)\b"
    r"[\w\s-]{0,20}?),?\s+(?=we\b)",
    re.IGNORECASE,
)


def split_sentences(text: str) -> list[str]:
    """Split an abstract into sentences without breaking at common abbreviations."""
    present = [(i, abbr) for i, abbr in enumerate(_ABBREVIATIONS) if abbr in text]
    protected = text
    for i, abbr in present:
        protected = protected.replace(abbr, f"\x00{i}\x00")
    parts = _SENTENCE_END.split(protected)
    sentences = []
    for part in parts:
        for i, abbr in present:
            part = part.replace(f"\x00{i}\x00", abbr)
        if stripped := part.strip():
            sentences.append(stripped)
    return sentences


def plain_text(text: str) -> str:
    """Common LaTeX markup in arXiv abstracts made readable: \\emph{x} → x, $\\times$ → ×."""
    if "\\" not in text and "$" not in text:
        return text  # most abstracts: nothing to do, and this runs for every paper of the week
    for _ in range(3):  # nested wrappers
        text = _LATEX_WRAPPERS.sub(r"\1", text)
    text = _LATEX_CITE.sub("", text)
    text = _LATEX_GROUP.sub(r"\1", text)
    text = _LATEX_HREF.sub(r"\1", text)
    text = _LATEX_URL.sub(r"\1", text)
    text = _LATEX_SYMBOL.sub(lambda m: _LATEX_SYMBOLS[m.group(1)], text)
    text = _MATH_SPAN.sub(_simple_math, text)
    return _LATEX_ESCAPE.sub(r"\1", text)


def _simple_math(match: re.Match[str]) -> str:
    """`$O(n)$` → `O(n)`, `$36\\%$` → `36%`; a span with a command (`$\\bm{x}$`) or a long one
    stays as written. An escaped sign is no command (round 28: "improves success by $36\\%$"
    read "by $36%$", its escape dropped later and its dollars kept)."""
    body = _LATEX_ESCAPE.sub(r"\1", match.group(1))
    return body if 0 < len(body) <= 40 and "\\" not in body else match.group(0)


def _drop_connective(sentence: str) -> str:
    stripped = _CONNECTIVE.sub("", sentence, count=1)
    if stripped == sentence or not stripped:
        return sentence
    return stripped[0].upper() + stripped[1:]


def _scripts(match: re.Match[str]) -> str:
    body = match.group(2) if match.group(2) is not None else match.group(3)
    table = _SUPERSCRIPTS if match.group(1) == "^" else _SUBSCRIPTS
    if not all(c in table for c in body):
        return match.group(0)
    scripts = "".join(table[c] for c in body)
    # After a macro (`\ell_p`) a letter script (ₚ is a letter) would extend its name into
    # one pylatexenc does not know, and drop: "Optimal $\ell_p$ Sampling" read "Optimal
    # Sampling" (round 29). An empty group ends the name.
    after_macro = _MACRO_END.search(match.string[max(0, match.start() - 40) : match.start()])
    return "{}" + scripts if after_macro else scripts


# Font switches whose argument pylatexenc's parser reads but its text specs do not name, so
# the argument was dropped: "A Smooth Sea Never Made a Skilled $\\texttt{SAILOR}$" showed as
# "… a Skilled : Robust Imitation" (round 13). Their text is the argument.
_KEEP_ARGUMENT = ("texttt", "textsf", "textup", "textmd", "mbox")


@cache
def _latex_converter() -> LatexNodes2Text:
    macros = text_macros()
    kept = [MacroTextSpec(name, "%(1)s") for name in _KEEP_ARGUMENT]
    macros.add_context_category("titles", prepend=True, macros=kept)
    return LatexNodes2Text(latex_context=macros, math_mode="text", keep_braced_groups=False)


@cache
def _latex_parser_macros() -> LatexContextDb:
    """pylatexenc's macros, with `\\href{url}{text}` read with its two arguments, which its text
    spec takes: without them it raised IndexError, and a title linking its code failed every
    build of its week with a traceback."""
    macros = parsed_macros()
    macros.add_context_category("titles", prepend=True, macros=[MacroSpec("href", "{{")])
    return macros


def latex_to_text(text: str) -> str:
    """A title's LaTeX as plain text: `PB$^2$` → `PB²`, `$\\alpha$-Net` → `α-Net`; a title
    without markup is returned unchanged, and one pylatexenc cannot parse falls back to the
    cheap rewrites of `plain_text`."""
    if "\\" not in text and "$" not in text:
        return text
    text = _LATEX_CITE.sub("", text)
    text = _SCRIPT.sub(_scripts, text)
    text = _BARE_PERCENT.sub(r"\\%", text)  # "50%" in a title is a percent, not a comment
    if len(_BARE_DOLLAR.findall(text)) % 2:  # an unpaired dollar is money, not math
        text = _BARE_DOLLAR.sub(r"\\$", text)
    # "Q&A", "Tom & Jerry" outside math are the sign itself, not a table's column break,
    # which pylatexenc drops (round 26: "Q&A with $k$-NN" showed as "Q A with k-NN").
    text = _outside_math(text, lambda part: _BARE_AMPERSAND.sub(r"\\&", part))
    try:
        walker = LatexWalker(text, latex_context=_latex_parser_macros(), tolerant_parsing=True)
        nodes, _, _ = walker.get_latex_nodes()
        converted = _latex_converter().nodelist_to_text(nodes)
    # Feed text is untrusted: pylatexenc parses tolerantly, but a macro written without the
    # arguments its text spec reads (`\\href` or `\\author` alone, `\\colorbox{red}`) fails in
    # the spec with one of these (round 13: each of its 1,035 macros, written bare, tried);
    # an empty or cut-off matrix (`$\\begin{pmatrix}\\end{pmatrix}$`, `\\begin{array}{`)
    # fails in its layout with ValueError (max() of no cells).
    except (LatexWalkerError, IndexError, KeyError, AttributeError, ValueError):
        return plain_text(text)
    return " ".join(str(converted).split())


def _outside_math(text: str, rewrite: Callable[[str], str]) -> str:
    """`text` with `rewrite` applied to its parts outside `$…$` math."""
    parts, end = [], 0
    for span in _MATH_SPAN.finditer(text):
        parts += [rewrite(text[end : span.start()]), span.group(0)]
        end = span.end()
    return "".join([*parts, rewrite(text[end:])])


def _stands_alone(sentence: str) -> str | None:
    """The sentence, its leaning opener dropped; None when it only makes sense after another,
    needs a macro of the authors' own ("We introduce \\name, …": `plain_text` has turned
    every macro it knows into text, and math spans stay as written), or only says where the
    code or data is (_AVAILABILITY)."""
    if _own_macro(sentence) or _AVAILABILITY.search(sentence):
        return None
    sentence = _drop_connective(sentence)
    leaning = _LEANING_CLAUSE.match(sentence) or _LEANING_BEFORE_WE.match(sentence)
    if leaning:
        rest = sentence[leaning.end() :]
        sentence = rest[0].upper() + rest[1:]
    return None if _BACK_REFERENCE.match(sentence) else sentence


def _own_macro(sentence: str) -> bool:
    """Whether a LaTeX macro is left outside the sentence's math ($…$, \\(…\\))."""
    if "\\" not in sentence:
        return False
    return bool(_MACRO.search(_PAREN_MATH.sub("", _MATH_SPAN.sub("", sentence))))


def cap_length(text: str, max_chars: int) -> str:
    """Whole sentences up to `max_chars`; a first sentence longer than that is cut at its last
    clause break (else word) before the cap, with '…'."""
    if len(text) <= max_chars:
        return text
    kept = ""
    for sentence in split_sentences(text):
        joined = f"{kept} {sentence}".strip()
        if len(joined) > max_chars:
            break
        kept = joined
    if kept:
        return kept
    head = text[: max_chars - 1]
    cut = max(head.rfind(", "), head.rfind("; "), head.rfind(": "))
    if cut < max_chars // 2:
        cut = head.rfind(" ")
    return head[: max(cut, 1)].rstrip(" ,;:") + " …"


def _candidates(sentences: list[str]) -> Iterator[int]:
    """Sentence indices in order of preference: contribution sentences, then the rest, in order.
    Lazy: the contribution pattern is the costliest part of a summary, and most abstracts are
    settled by their first contribution sentence."""
    starts = set()
    for index, sentence in enumerate(sentences):
        if _may_contribute(sentence) and _CONTRIBUTION.search(sentence):
            starts.add(index)
            yield index
    yield from (index for index in range(len(sentences)) if index not in starts)


def _may_contribute(sentence: str) -> bool:
    """False only where _CONTRIBUTION cannot match: an ASCII sentence (where ignoring case is
    lower-casing) without "we" or "this", or without one of its verbs. A few substring tests
    cost a fraction of the pattern's search, which tries every position."""
    if not sentence.isascii():
        return True
    lowered = sentence.lower()
    return ("we" in lowered or "this" in lowered) and any(verb in lowered for verb in _VERBS)


def summarize(abstract: str, *, max_chars: int = 320) -> str:
    """One or two whole sentences that stand alone: the contribution sentence when there is one
    that fits in `max_chars`, else the opening, else the next that fits; a sentence longer than
    that is cut at a clause break only when no sentence fits (see cap_length)."""
    sentences = split_sentences(plain_text(abstract))
    if not sentences:
        return ""
    # Candidates in order of preference, judged lazily: a build summarises every paper of the
    # week, and most abstracts are settled by their first candidate.
    fallback: tuple[int, str] | None = None
    for index in _candidates(sentences):
        alone = _stands_alone(sentences[index])
        if alone is None:
            continue
        if len(alone) <= max_chars:
            start, first = index, alone
            break
        fallback = fallback or (index, alone)
    else:
        start, first = fallback or (0, _drop_connective(sentences[0]))
    chosen = [first]
    follows = sentences[start + 1] if start + 1 < len(sentences) else ""
    if (
        follows
        and len(first) + len(follows) < max_chars
        and not _own_macro(follows)
        and not _AVAILABILITY.search(follows)
    ):
        chosen.append(follows)
    return cap_length(" ".join(chosen), max_chars)
