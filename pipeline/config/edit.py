"""Editing config.toml in place (`digest mark`): one list changes, comments and layout stay.

`locked_config` and `replace_config` are the file's side: one edit at a time, and the file is
replaced whole (synced temp file, then rename) or not at all.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError

_log = logging.getLogger(__name__)


@contextlib.contextmanager
def locked_config(path: Path) -> Iterator[bytes]:
    """The config file's bytes, read under an exclusive flock on the file itself, held until the
    block ends: a second `digest mark` waits, then reads what the first one wrote (two at once
    each read the same file and the later rename dropped the other's paper). The lock is taken
    on whatever file `path` names once it is held, so a wait across a rename is not lost."""
    while True:
        fd = _open_to_lock(path)
        try:
            try:
                _lock(fd, path)
            except OSError as e:  # ENOLCK: an NFS mount without its lock daemon
                raise ConfigError(f"cannot lock config file {path}: {e.strerror or e}") from e
            held, named = os.fstat(fd), os.stat(path)
            if (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino):
                break
        except FileNotFoundError:
            pass  # replaced and gone while we waited: lock the new one
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read()
        yield data
    finally:
        os.close(fd)  # closing drops the flock


def _lock(fd: int, path: Path) -> None:
    """An exclusive flock on `fd`, saying first when another `digest mark` holds it: scoring a
    week takes that one seconds to minutes, and a silent wait reads as a hang."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        _log.warning("%s is being edited by another `digest mark`: waiting for it to finish", path)
        fcntl.flock(fd, fcntl.LOCK_EX)


def _open_to_lock(path: Path) -> int:
    """The config file opened for writing where it may be: an NFS client emulates flock by a
    byte-range lock, whose exclusive form needs a descriptor open for writing (EBADF, and a
    traceback from `digest mark`, otherwise). A file that is not writable (444, a read-only
    mount) is opened for reading, where flock is local; mark refuses to replace it anyway."""
    try:
        return os.open(path, os.O_RDWR)
    except (PermissionError, IsADirectoryError):
        pass
    except OSError as e:
        if e.errno != errno.EROFS:
            raise ConfigError(f"cannot read config file {path}: {e.strerror or e}") from e
    try:
        return os.open(path, os.O_RDONLY)
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror or e}") from e


def temporary_config(path: Path) -> Path:
    """Where `digest mark` writes the edited config before it replaces the file: beside it."""
    return path.with_name(f".{path.name}.mark.tmp")


def replace_config(path: Path, original: bytes) -> None:
    """Replace the config file with its temporary file (`write_temporary`), atomically and
    durably, unless the file no longer holds `original` (an editor saved it meanwhile:
    ConfigError, nothing replaced)."""
    temporary = temporary_config(path)
    try:
        if path.read_bytes() != original:
            raise ConfigError(
                f"config file {path} changed while `digest mark` ran (saved from an editor?);"
                " nothing was written: run the command again"
            )
        temporary.replace(path)
        _sync_folder(path.parent)
    except OSError as e:
        raise ConfigError(f"cannot write config file {path}: {e.strerror or e}") from e


def write_temporary(
    path: Path, data: bytes, *, mode: int, owner: tuple[int, int] | None = None
) -> Path:
    """`data` in `.NAME.mark.tmp` beside the config file, on disk (fsync) and with the config's
    permissions, so a crash after the rename never leaves an empty or partial config; with the
    config's `owner` (uid, gid) where this user may give it (round 24: root's `sudo digest mark`
    handed the service user's config to root, and the service could no longer read it)."""
    temporary = temporary_config(path)
    try:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if owner is not None:
            _give(temporary, owner)
        temporary.chmod(mode)  # the new file keeps the old one's permissions
    except OSError as e:
        raise ConfigError(f"cannot write config file {path}: {e.strerror or e}") from e
    return temporary


def _give(path: Path, owner: tuple[int, int]) -> None:
    """Give `path` the config's owner and group; only root may give a file away, and anyone its
    own group: what this user may not is left as the new file has it."""
    uid, gid = owner
    for attempt in ((uid, gid), (-1, gid)):
        try:
            os.chown(path, *attempt)
            return
        except PermissionError:
            continue


def _sync_folder(folder: Path) -> None:
    """The rename itself on disk; a folder that cannot be opened for that (some filesystems)
    still has the renamed file, which is all the edit needs."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def add_topic_paper(
    text: str,
    slug: str,
    paper_id: str,
    *,
    comment: str = "",
    counter: bool = False,
    same: Callable[[str], bool] | None = None,
) -> str:
    """config.toml text with `paper_id` added to topic `slug`'s examples (or counter_examples).

    Comments and layout are kept (tomlkit round-trip); only the one list changes, and the paper
    leaves the opposite list if it was there. `same` says whether a listed entry names the
    paper (another form of its id, a link, its title; default: the entry is `paper_id`).
    ConfigError when the text is not TOML or has no such topic (naming the slug meant when
    one is close, and every slug). Returns `text` unchanged when the paper is already listed
    and not in the opposite list; listed in both (written two ways), it only leaves the
    opposite one.
    """
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    names_paper = same or (lambda listed: listed == paper_id)
    # A byte-order mark and CRLF line endings stay as they were; tomlkit writes the new lines
    # with "\n", so a CRLF file is edited as LF and written back as CRLF.
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text.removeprefix(bom)
    crlf = "\r\n" in body and body.count("\r\n") == body.count("\n")
    try:
        document = tomlkit.parse(body.replace("\r\n", "\n") if crlf else body)
    except TOMLKitError as e:
        raise ConfigError(f"not valid TOML: {e}") from e
    topics = document.get("topics", [])
    entry = next((t for t in topics if isinstance(t, dict) and t.get("slug") == slug), None)
    if entry is None:
        slugs = [str(t.get("slug")) for t in topics if isinstance(t, dict)]
        # A typo ("slgu") is named with the slug meant, the list still given (round 28).
        close = difflib.get_close_matches(slug, slugs, n=1)
        meant = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"no topic with slug {slug!r}{meant} (topics: {', '.join(slugs) or 'none'})"
        )
    key, other = ("counter_examples", "examples") if counter else ("examples", "counter_examples")
    listed = any(names_paper(str(item)) for item in entry.get(key, []))
    opposite = [item for item in entry.get(other, []) if names_paper(str(item))]
    if listed and not opposite:
        return text
    if opposite:
        about = _comment_names(paper_id, comment, names_paper)
        for item in opposite:
            _drop_comment_above(entry[other], item, about)
            entry[other].remove(item)
        if not entry[other]:
            entry[other] = tomlkit.array()  # keeps the old list's trailing comment
            trivia = entry[other].trivia  # `examples = ["2312.00752"]  # Mamba`: it goes too
            if trivia.comment and about(trivia.comment):
                trivia.comment_ws, trivia.comment = "", ""
    if listed:  # written another way in both lists (round 29): it only leaves the other one
        return _dumped(document, bom, crlf)
    if key not in entry:
        _add_empty_list(entry, key)
    values = entry[key]
    if not isinstance(values, tomlkit.items.Array):
        raise ConfigError(f"topics.{slug}.{key}: must be a list of strings")
    one_line = "\n" not in values.as_string()
    if one_line and len(values):
        values = _one_per_line(entry, key, values)
    # One paper per line, with its title as a comment: the list stays readable as it grows.
    indent = _indent_of(values)
    values.add_line(paper_id, comment=comment.replace("\n", " ") or None, indent=indent)
    if one_line and len(values) == 1:  # `[]` opened: its closing bracket on a line of its own
        values.add_line(indent="")
    return _dumped(document, bom, crlf)


def _dumped(document: Any, bom: str, crlf: bool) -> str:
    """The edited document as text, with the byte-order mark and line endings it was read with."""
    import tomlkit

    updated = tomlkit.dumps(document)
    return bom + (updated.replace("\n", "\r\n") if crlf else updated)


def _indent_of(values: Any) -> str:
    """The indent of the list's last entry on a line of its own (two spaces, a tab), else of its
    last comment line, so the added line lines up with them (round 29: always four spaces);
    four where the list has neither."""
    from tomlkit.items import Null

    groups = [g for g in values._value if g.indent is not None and "\n" in g.indent.s]
    entries = [g for g in groups if g.value is not None and not isinstance(g.value, Null)]
    notes = [g for g in groups if isinstance(g.value, Null) and g.comment is not None]
    for group in (entries or notes)[-1:]:
        return str(group.indent.s.rsplit("\n", 1)[1])
    return "    "


def _comment_names(
    paper_id: str, title: str, names_paper: Callable[[str], bool]
) -> Callable[[str], bool]:
    """Whether a comment (`# …`) names the paper: holds its id (with or without `arxiv:`), is
    its title or the start of it (`# Mamba` for "Mamba: Linear-Time …", as `mark` writes it,
    shortened or not), or is a reference `same` knows (a link)."""
    bare = paper_id.split(":", 1)[-1]
    folded = " ".join(title.split()).casefold()

    def names(comment: str) -> bool:
        text = " ".join(comment.lstrip("#").split()).rstrip("…").rstrip(".").strip()
        said = text.casefold()
        if not said:
            return False
        if paper_id in text or (len(bare) >= 6 and bare in text):
            return True
        shown = bool(folded) and (folded in said or folded.startswith(said))
        return shown or names_paper(text)

    return names


def _drop_comment_above(values: Any, item: Any, names: Callable[[str], bool]) -> None:
    """Remove the comment lines written right above `item` in the list `values` (no blank line
    or entry between) from the first that names the paper down: a note about a paper goes with
    it when the paper leaves the list; a note about something else (`# strong baselines` over
    several entries) stays, as does one a blank line away."""
    from tomlkit.items import Null

    groups = values._value  # tomlkit keeps a comment line as a group with no value
    at = next((i for i, g in enumerate(groups) if g.value is item), None)
    if at is None:
        return
    block: list[int] = []
    below = groups[at]
    for i in range(at - 1, -1, -1):
        group = groups[i]
        above_only = below.indent is not None and below.indent.s.count("\n") == 1
        alone = group.comment is not None and isinstance(group.value, Null | None)
        if not above_only or not alone:
            break
        block.insert(0, i)
        below = group
    first = next((i for i in block if names(groups[i].comment.trivia.comment)), None)
    if first is None:
        return
    del groups[first:at]
    values._reindex()


def _one_per_line(entry: Any, key: str, values: Any) -> Any:
    """The one-line list `entry[key]` opened over lines, its entries as written on one line of
    their own with the comment that followed the list (`examples = ["2312.00752"]  # Mamba`
    keeps "# Mamba" beside "2312.00752"); tomlkit would leave them on the `key = [` line and
    move the comment after the closing bracket, under the added paper."""
    import tomlkit

    trivia = values.trivia
    written = values.as_string().strip()[1:-1].strip().rstrip(",").rstrip()
    comment = f"{trivia.comment_ws}{trivia.comment}" if trivia.comment else ""
    entry[key] = tomlkit.parse(f"x = [\n    {written},{comment}\n]\n")["x"]
    opened = entry[key]
    opened.trivia.comment_ws, opened.trivia.comment = "", ""  # now on the entries' line
    return opened


def _add_empty_list(entry: Any, key: str) -> None:
    """`key = []` right after the topic's last value: tomlkit keeps the blank lines and comments
    that open the next [[topics]] in this table, and a plain `entry[key] = …` lands under them."""
    import tomlkit
    from tomlkit.items import AoT, Table

    container = entry.value
    body = container.body
    last = max(
        i for i, (name, item) in enumerate(body)
        if name is not None and not isinstance(item, Table | AoT)
    )  # fmt: skip
    # tomlkit has no public insert: _insert_at (kept from 0.11 to 0.15.3, where the
    # _insert_after this used was removed) places the key after the topic's last value.
    trivia = body[last][1].trivia
    if "\n" not in trivia.trail:
        trivia.trail += "\n"
    if last + 1 < len(body):
        container._insert_at(last + 1, key, tomlkit.array())
    else:  # nothing after it: an append lands in the same place
        container.append(key, tomlkit.array())
