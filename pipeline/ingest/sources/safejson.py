"""JSON for untrusted bytes: an out-of-range number is a marked bad value, not a crash.

Python refuses to convert integers over 4,300 digits (CVE-2020-10735) and the store cannot hold
one over 2**63, so `loads` reads any integer outside the SQLite range as `BAD_NUMBER`. A record
holding one is a bad entry (`has_bad_number`): the parser skips it, the rest of the feed lands.
"""

from __future__ import annotations

import json
import re
from typing import Any

_MAX_DIGITS = 19  # 2**63 has 19 digits; longer never fits the store


class _BadNumber:
    """The marker standing for an integer too large to keep."""

    def __repr__(self) -> str:
        return "<out-of-range number>"


BAD_NUMBER: Any = _BadNumber()
_INT_LIMIT = 2**63


def _parse_int(text: str) -> Any:
    digits = text.lstrip("-")
    if len(digits) > _MAX_DIGITS:
        return BAD_NUMBER
    value = int(text)
    return value if -_INT_LIMIT <= value < _INT_LIMIT else BAD_NUMBER


def loads(text: str | bytes) -> Any:
    """`json.loads` with out-of-range integers read as BAD_NUMBER (ValueError on bad JSON)."""
    return json.loads(text, parse_int=_parse_int)


def has_bad_number(value: Any, *, depth: int = 0) -> bool:
    """True when `value` (a decoded JSON record) holds BAD_NUMBER anywhere."""
    if value is BAD_NUMBER:
        return True
    if depth > 50:  # json.loads already refused deeper nesting than Python's recursion limit
        return False
    if isinstance(value, dict):
        return any(has_bad_number(v, depth=depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(has_bad_number(v, depth=depth + 1) for v in value)
    return False


def json_lines(text: str) -> list[str]:
    """The lines of a JSONL text, ended by "\\n", "\\r\\n" or "\\r", which no JSON string holds
    raw. Not `str.splitlines()`: JSON lets U+2028, U+2029 and U+0085 (cp1252's '…' read as
    Latin-1) stand raw in a string, as json.dumps(ensure_ascii=False) writes them, and a line
    split there is "not valid JSON": a user's export failed whole."""
    return re.split(r"\r\n?|\n", text)
