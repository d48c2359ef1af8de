"""The exception tree. Third-party errors are wrapped at the boundary with `raise … from e`.

    PipelineError                 anything the user can act on; the CLI prints it, exit 1
    ├── ConfigError               config.toml is missing or invalid; exit 2
    ├── UsageError                a command the CLI cannot act on (an unknown one); exit 2
    ├── FetchError                one URL could not be retrieved (network, HTTP status, size cap)
    │   └── HTTPStatusError       the server answered a status that is no success, with a body
    ├── ParseError                bytes that are not a usable feed
    ├── StoreError                the SQLite database cannot be read or written
    │   └── NewerStoreError       its schema is newer than this program's (an upgrade migrated it)
    ├── EmbedError                the embedding model cannot be loaded or run
    ├── LockError                 another run holds the lock
    ├── OutputError               a digest output (the Markdown to send, …) is missing or unreadable
    └── DeliveryError             the SMTP server refused or could not be reached

Per-source FetchError/ParseError become results in the run report, never abort the other sources.
Anything else (TypeError, KeyError, sqlite3.ProgrammingError) is a bug and propagates.

`redact` strips secrets (user:password@, api_key=, token=, …) from any text holding URLs; every
message that names a URL passes through it before it is shown, logged or stored. `shortened`
cuts what a user gave to the length a message echoes.
"""

from __future__ import annotations

import re


class PipelineError(Exception):
    """Base of every error the user can act on."""


class ConfigError(PipelineError):
    """config.toml is missing or invalid; `problems` lists each as 'dotted.path: message'."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        return head + "\n" + "\n".join(f"  {p}" for p in self.problems)


class UsageError(PipelineError):
    """A command or option that cannot be acted on, such as an unknown command; exit 2."""


class FetchError(PipelineError):
    """One URL could not be retrieved."""


class HTTPStatusError(FetchError):
    """The server's final answer was a status that is no success (`status`), and `content` the
    body it sent with it (b"" when none), which may say why: the arXiv API answers a query it
    cannot read with 400 and an Atom feed naming the fault."""

    def __init__(self, message: str, *, status: int, content: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.content = content


class ParseError(PipelineError):
    """Bytes that are not a usable feed or file."""


class StoreError(PipelineError):
    """The database cannot be opened, read or written."""


class NewerStoreError(StoreError):
    """The database's schema is newer than this program's: a newer version migrated it (round
    26: `digest serve`, still running the version it started with, tells the user to restart it)."""


class EmbedError(PipelineError):
    """The embedding model cannot be loaded or run."""


class LockError(PipelineError):
    """Another run holds the lock."""


class OutputError(PipelineError):
    """A digest output that a command needs is missing or unreadable."""


class DeliveryError(PipelineError):
    """An e-mail could not be delivered to the SMTP server."""


_SECRET_KEYS = (
    "access_token|api_key|apikey|auth|key|passwd|password|pwd|secret|sig|signature|token"
    "|client_secret|session|sessionid|code"
)
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]*@")
_SECRET_PARAM = re.compile(rf"(?i)([?&;](?:[a-z0-9_.-]*[_-])?(?:{_SECRET_KEYS})=)[^&;#\s]*")
REDACTED = "REDACTED"


def redact(text: str) -> str:
    """`text` with the secrets of every URL in it replaced: the user:password@ part and the values
    of query parameters named like secrets (api_key=, token=, sig=, access_token=, …).

    Pure and idempotent; applied to every URL or error message that is shown, logged or stored.

    >>> redact("https://u:p@h.org/f?api_key=s3&q=x: HTTP 500")
    'https://REDACTED@h.org/f?api_key=REDACTED&q=x: HTTP 500'
    """
    text = _URL_USERINFO.sub(rf"\g<1>{REDACTED}@", text)
    return _SECRET_PARAM.sub(rf"\g<1>{REDACTED}", text)


def shortened(text: str, limit: int = 80) -> str:
    """`text` as a message echoes it: its first `limit` characters and "…" when longer (a paste
    gone wrong, 5,000 characters, was echoed whole)."""
    return text if len(text) <= limit else text[:limit] + "…"
