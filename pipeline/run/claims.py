"""Which config a store and a digests folder belong to (rounds 23 and 24).

Two configs given one `data_dir` made the second one's digest list the first one's papers and
say its week was already e-mailed; two given one `digests_dir` overwrote each other's weeks,
index.md and feed.xml. The store records the config that writes it (`claim_store`, meta keys)
and the digests folder names it in `DIGESTS_OWNER` (`claim_digests`); another config is
refused (ConfigError, exit 2) naming both. A config that is gone, no longer loads, or keeps
its store or digests elsewhere (a whole setup copied or moved: its files name the original)
hands them over. Imports config, errors and store only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from pathlib import Path

from pipeline.config import Settings, load_settings
from pipeline.digest.publish import WEEK_NAME
from pipeline.errors import ConfigError, OutputError, StoreError
from pipeline.store import Store


def digest_files(folder: Path) -> list[Path]:
    """The weekly Markdown digests written in `folder` (none when it does not exist)."""
    return sorted(folder.glob(f"{WEEK_NAME}.md")) if folder.is_dir() else []


#: The store's meta keys naming the config file that last wrote it and that config's digests.
_CONFIG_KEY, _DIGESTS_KEY = "config_path", "digests_dir"


def claim_store(store: Store, settings: Settings) -> None:
    """Record which config writes the store; ConfigError when another config still in use
    does, with digests of its own (round 23: a second config sharing one data_dir listed the
    first one's papers in its digest, and found every week the first one had mailed "e-mailed
    already": its readers got nothing). A config whose file is gone, or whose digests moved,
    hands the store over, as does a config that changed its digests_dir."""
    mine = (str(settings.config_path), str(settings.paths.digests_dir))
    if (_meta_path(store, _CONFIG_KEY), _meta_path(store, _DIGESTS_KEY)) == mine:
        return
    _check_store(store, settings)
    store.set_meta(_CONFIG_KEY, _as_text(mine[0]))
    store.set_meta(_DIGESTS_KEY, _as_text(mine[1]))


def check_claims(settings: Settings) -> None:
    """ConfigError when another config still in use writes this config's digests folder or
    store (`claim_digests`, `claim_store`), checked without writing or creating anything: what
    a command checks first, so one refused leaves no trace (round 25: `digest serve` of such a
    config started, made a data folder and failed every job)."""
    claim_digests(settings, write=False)
    path = settings.database_path
    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        with Store.open_to_read(path, as_found=True) as store:
            _check_store(store, settings)
    except StoreError:  # damaged, emptied, no tables: the writer's open says so in its words
        return


def _check_store(store: Store, settings: Settings) -> None:
    """ConfigError when the store records another config still in use (`claim_store`)."""
    mine = (str(settings.config_path), str(settings.paths.digests_dir))
    config, digests = _meta_path(store, _CONFIG_KEY), _meta_path(store, _DIGESTS_KEY)
    if (
        config is not None
        and digests is not None
        and config != mine[0]
        and digests != mine[1]
        and digest_files(Path(digests))
        and _stores_in(Path(config), settings.database_path)
    ):
        raise ConfigError(
            f"{settings.config_path} has 1 problem:",
            problems=(
                f"paths.data_dir: {settings.paths.data_dir} is the store of {config}, whose"
                f" digests are in {digests}: two configs cannot share one data_dir (each would"
                " list the other's papers and take the weeks it built and e-mailed for its"
                " own); give this config a data_dir of its own or, if that config is a"
                f" copy made to try an edit on, delete it (or {digests}) and this config's"
                " store is its own again",
            ),
        )


def _as_text(path: str) -> str:
    """A path as the store's text keeps it: as it is, or, when it holds bytes that are not
    UTF-8 (a file name from a Latin-1 system: Python reads them as lone surrogates, which
    SQLite's text refuses, a traceback at every command), as a JSON string (round 24)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(path)
    return path


def _meta_path(store: Store, key: str) -> str | None:
    """The path `_as_text` kept under `key` (a path never starts with a quote), or None."""
    value = store.get_meta(key)
    return json.loads(value) if value is not None and value.startswith('"') else value


#: The file in digests_dir naming the config (and its store) whose builds write the folder.
DIGESTS_OWNER = ".written-by.json"


def claim_digests(settings: Settings, *, write: bool = True) -> None:
    """ConfigError when digests_dir holds the digests of another config still in use; else,
    when `write`, record this config as the folder's writer (`DIGESTS_OWNER`). Round 24: two
    configs with their own data_dir and one digests_dir overwrote each other's week files,
    index.md and feed.xml without a word. A config that is gone, no longer loads or writes
    elsewhere (a whole setup copied or moved: its files name the original) hands the folder
    over, as in `claim_store`. Round 25: the folder is often published, so the record names
    no absolute path (`_writer`)."""
    folder = settings.paths.digests_dir
    marker = folder / DIGESTS_OWNER
    mine = _writer(settings)
    try:
        owner = json.loads(marker.read_text("utf-8"))
    except (OSError, ValueError):  # none yet (or unreadable: then so is the folder to a build)
        owner = None
    if owner == mine:
        return
    if owner is None:
        _check_not_the_users(settings)
    if isinstance(owner, dict):
        _check_store_left_behind(owner, mine, settings)
    holder = _holder(owner, mine, settings) if isinstance(owner, dict) else None
    if holder is not None:
        raise ConfigError(
            f"{settings.config_path} has 1 problem:",
            problems=(
                f"paths.digests_dir: {folder} holds the digests of {holder}: two"
                " configs cannot share one digests_dir (each build would overwrite the"
                " other's weeks, index.md and feed.xml); give this config a digests_dir of its"
                f" own (or delete {marker} if that config no longer builds there)",
            ),
        )
    if write:
        temporary = marker.with_name(f"{marker.name}.{os.getpid()}.tmp")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(mine, indent=1) + "\n", "utf-8")
            os.replace(temporary, marker)
        except OSError as e:  # read-only, full: as a digest's own file would fail
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            problem = e.strerror or e
            raise OutputError(f"cannot write {marker}: {problem}; nothing was replaced") from e


#: The files every build rewrites whole in digests_dir, and what one a build wrote holds: the
#: archive names the weeks (2025-W24), the feed its generator.
_REWRITTEN = {
    "index.md": (re.compile(rb"\d{4}-W\d{2}"), "it names no digest week"),
    "feed.xml": (re.compile(rb"generator>pipeline<"), "another program generated it"),
}


def _check_not_the_users(settings: Settings) -> None:
    """ConfigError when digests_dir, which no build has claimed yet (no `DIGESTS_OWNER`),
    holds an index.md or feed.xml that no build wrote: a site's own (digests_dir = "docs", a
    GitHub Pages folder whose index.md is its home page) was replaced by the first build
    without a word (round 28). A folder built before `DIGESTS_OWNER` existed holds ours."""
    for name, (written, why) in _REWRITTEN.items():
        path = settings.paths.digests_dir / name
        if path.is_symlink() or not path.is_file():  # a link is replaced, never written through
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue  # the build's own write says what is wrong
        if written.search(data) is None:
            raise ConfigError(
                f"{settings.config_path} has 1 problem:",
                problems=(
                    f"paths.digests_dir: {path} was not written by a digest build ({why}),"
                    f" and every build replaces {name} with its own: give this config a"
                    " digests_dir of its own, or move the file away",
                ),
            )


def _check_store_left_behind(
    owner: dict[str, object], mine: dict[str, str], settings: Settings
) -> None:
    """ConfigError when this config built the digests in its folder with a store elsewhere,
    and its store is not there (round 26): data_dir edited before the store was moved there,
    or mistyped, made a new, empty store beside those digests, without the record of the
    weeks e-mailed, as a store emptied by hand would (`open_store` refuses that)."""
    database = owner.get("database_sha256")
    if (
        owner.get("config_sha256") != mine["config_sha256"]
        or owner.get("folder_sha256") != mine["folder_sha256"]
        or not isinstance(database, str)
        or database == mine["database_sha256"]
        or settings.database_path.exists()
        or not digest_files(settings.paths.digests_dir)
    ):
        return
    folder = settings.paths.digests_dir
    named = owner.get("database")
    built = (
        os.path.normpath(folder / named)
        if isinstance(named, str)
        else "a store outside the folder's parent (named in it by a hash only)"
    )
    raise ConfigError(
        f"{settings.config_path} has 1 problem:",
        problems=(
            f"paths.data_dir: {settings.database_path} does not exist, but the digests in"
            f" {folder} were built with {built}: move that store into {settings.paths.data_dir}"
            " (or set data_dir back): a new, empty store would not know the weeks built and"
            f" e-mailed. To start a new store on purpose, delete {folder / DIGESTS_OWNER}",
        ),
    )


def _writer(settings: Settings) -> dict[str, str]:
    """What `DIGESTS_OWNER` records of this config (round 25: users publish the folder, and
    its absolute paths told the world their home folder and user name): a hash of each
    resolved path (the config, its store, the folder itself), and the config's and store's
    paths relative to the folder where they lie in its parent folder (`../config.toml`, the
    usual layout), so that another config can find this one and see whether it still builds
    there. Relative to the folder, a whole setup copied or moved names its own files."""
    folder = settings.paths.digests_dir.resolve()
    config, database = settings.config_path.resolve(), settings.database_path.resolve()
    writer = {
        "config_sha256": _digest(config),
        "database_sha256": _digest(database),
        "folder_sha256": _digest(folder),
    }
    for key, path in (("config", config), ("database", database)):
        relative = os.path.relpath(path, folder)
        if Path(relative).parts.count(os.pardir) <= 1:
            writer[key] = relative
    return writer


def _digest(path: Path) -> str:
    return hashlib.sha256(os.fsencode(path)).hexdigest()


def _holder(owner: dict[str, object], mine: dict[str, str], settings: Settings) -> str | None:
    """The config named by the `DIGESTS_OWNER` record `owner` when it is another config still
    building into digests_dir with a store of its own (as the user should read it), or None
    when the folder is this config's to take. `mine`: this config's record (`_writer`)."""
    folder = settings.paths.digests_dir
    config, database = owner.get("config"), owner.get("database")
    if isinstance(config, str) and isinstance(database, str) and Path(config).is_absolute():
        # As an earlier version wrote it (absolute paths).
        if config != str(settings.config_path) and _in_use(config, database, settings):
            return config
        return None
    if (
        owner.get("config_sha256") == mine["config_sha256"]
        or owner.get("database_sha256") == mine["database_sha256"]
        or owner.get("folder_sha256") != mine["folder_sha256"]  # the folder moved
    ):
        return None
    if isinstance(config, str) and isinstance(database, str):
        shown = os.path.normpath(folder / config)
        return shown if _in_use(shown, os.path.join(folder.resolve(), database), settings) else None
    # Only hashes: a config whose files lie outside the folder's parent, still there or not.
    return "another config (named in it by a hash only, as it lies outside the folder's parent)"


def _in_use(config: str, database: str, settings: Settings) -> bool:
    """Whether `config` still builds into digests_dir, keeping its store at `database`, which
    is not this config's store."""
    return (
        _writes_digests(Path(config), Path(database), settings.paths.digests_dir)
        and Path(database).resolve() != settings.database_path.resolve()
    )


def _writes_digests(config: Path, database: Path, folder: Path) -> bool:
    """Whether the config file `config` still keeps its store at `database` and writes its
    digests into `folder` (a copy of a whole setup names the original's files)."""
    other = _settings_of(config)
    return (
        other is not None
        and other.database_path.resolve() == database.resolve()
        and other.paths.digests_dir.resolve() == folder.resolve()
    )


def _stores_in(config: Path, database: Path) -> bool:
    """Whether the config file `config` keeps its store at `database` now. A store copied or
    moved elsewhere (a backup restored, a copy to try an edit on) records the config that
    wrote the original, which keeps its own: the copy is not shared, so its new config takes
    it over. A config that is gone or no longer loads cannot use the store either."""
    other = _settings_of(config)
    return other is not None and other.database_path.resolve() == database.resolve()


def _settings_of(config: Path) -> Settings | None:
    """Another config file's settings, or None when it is gone or no longer loads: for any
    reason it cannot be read, it cannot be writing a store or a digests folder."""
    try:
        return load_settings(config)
    except Exception:
        return None
