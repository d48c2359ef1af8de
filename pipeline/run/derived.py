"""Per-paper values of pure text functions, kept from one build to the next (round 21).

The service builds the current week again after every ingest, and each build computed the same
values for the papers it had already seen: every paper's summary and rendered title
(`digest.build.readable`, 1 s of a 10,000-paper week) and the topics' keywords in its title and
text (`topics.assign.KeywordMatcher.found`, 0.8 s). `Memo` keeps them in `data_dir/` `FILE`.

It cannot go stale: a value is stored under a hash of everything it was computed from, the
inputs the stage passes (a paper's title and abstract; the keyword list and the paper's text)
and the code (`code_version`: the source of the modules that compute it, the versions of the
libraries they call, Python's). Other inputs or other code give another key, which misses.
Loading costs one JSON file and a hash per paper and value (about 0.1 s a 10k week).

It stays small: a build writes back only the entries it used (one week's papers), and only
when they differ from what it read. A missing, unreadable or foreign file is an empty memo
(the values are computed, as before); the file may be deleted at any time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from pipeline.digest import outputs
from pipeline.errors import OutputError
from pipeline.models import Remember, compute_now

logger = logging.getLogger(__name__)

FILE = "derived-memo.json"
FORMAT = 1
_T = TypeVar("_T")


def code_version(modules: Sequence[ModuleType], libraries: Sequence[str] = ()) -> str | None:
    """A hash of the `modules`' source files, the installed `libraries`' versions and Python's;
    None when a source cannot be read (nothing is then remembered)."""
    digest = hashlib.sha256(sys.version.encode())
    try:
        for module in modules:
            digest.update(Path(module.__file__ or "").read_bytes())
        for library in libraries:
            digest.update(f"\0{library} {metadata.version(library)}".encode())
    except (OSError, metadata.PackageNotFoundError):
        return None
    return digest.hexdigest()


class Memo:
    """The values kept in `path` (None: none, and none saved), read once; `save` writes back
    those this build used. One per build: it is a build's view of the file."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._known: dict[str, Any] = {}
        self._used: dict[str, Any] = {}
        self._computed = 0
        if path is None:
            return
        try:
            loaded = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return
        if isinstance(loaded, dict) and loaded.get("format") == FORMAT:
            values = loaded.get("values")
            if isinstance(values, dict):
                self._known = values

    def remembering(self, version: str | None) -> Remember:
        """The `Remember` for values computed by code of `version` (`code_version`): one that
        remembers nothing when the version is unknown."""
        if version is None or self._path is None:
            return compute_now
        start = hashlib.sha256(version.encode())

        def remember(inputs: tuple[str, ...], compute: Callable[[], _T]) -> _T:
            digest = start.copy()
            for text in inputs:  # each input's length first: no two input lists read alike
                digest.update(f"\0{len(text)}:{text}".encode("utf-8", "surrogatepass"))
            key = digest.hexdigest()
            value = self._used.get(key, _MISSING)
            if value is _MISSING:
                value = self._known.get(key, _MISSING)
                if value is _MISSING:
                    value = compute()
                    self._computed += 1
                self._used[key] = value
            return value  # type: ignore[no-any-return]

        return remember

    def save(self) -> None:
        """Write the values this build used, unless they are exactly the ones read."""
        if self._path is None or (not self._computed and len(self._used) == len(self._known)):
            return
        text = json.dumps({"format": FORMAT, "values": self._used}, separators=(",", ":"))
        try:
            outputs.write_files({self._path: text.encode("utf-8")})
        except OutputError as e:  # a memo: the next build computes the values again
            logger.warning("could not save %s: %s", self._path, e)


_MISSING = object()
