"""Recorded HTTP responses (`*.recorded.json`: {url, status_code, body}) as the bytes served.

lukasschwab/arxiv.py recorded `response.text`, which requests decoded as ISO-8859-1 because
export.arxiv.org sends no charset: the body is the UTF-8 bytes read as Latin-1 ("RamÃ\xadrez").
Encoding it back as Latin-1 gives the bytes the server sent (issue 14, item 16).
"""

from __future__ import annotations

import json
from pathlib import Path


def read_recorded_body(path: Path) -> bytes:
    """The response body exactly as the server sent it."""
    return str(json.loads(path.read_bytes())["body"]).encode("latin-1")
