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
import json
import os
from pathlib import Path

from pipeline.config import Settings, load_settings
from pipeline.errors import ConfigError, OutputError
from pipeline.store import Store


def digest_files(folder: Path) -> list[Path]:
    """The weekly Markdown digests written in `folder` (none when it does not exist)."""
    return sorted(folder.glob("*-W[0-9][0-9].md")) if folder.is_dir() else []


#: The store's meta keys naming the config file that last wrote it and that config's digests.
_CONFIG_KEY, _DIGESTS_KEY = "config_path", "digests_dir"


def claim_store(store: Store, settings: Settings) -> None:
    """Record which config writes the store; ConfigError when another config still in use
    does, with digests of its own (round 23: a second config sharing one data_dir listed the
    first one's papers in its digest, and found every week the first one had mailed "e-mailed
    already": its readers got nothing). A config whose file is gone, or whose digests moved,
    hands the store over, as does a config that changed its digests_dir."""
    mine = (str(settings.config_path), str(settings.paths.digests_dir))
    config, digests = _meta_path(store, _CONFIG_KEY), _meta_path(store, _DIGESTS_KEY)
    if (config, digests) == mine:
        return
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
                " own); give this config a data_dir of its own",
            ),
        )
    store.set_meta(_CONFIG_KEY, _as_text(mine[0]))
    store.set_meta(_DIGESTS_KEY, _as_text(mine[1]))


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
    over, as in `claim_store`."""
    folder = settings.paths.digests_dir
    marker = folder / DIGESTS_OWNER
    mine = {"config": str(settings.config_path), "database": str(settings.database_path)}
    try:
        owner = json.loads(marker.read_text("utf-8"))
    except (OSError, ValueError):  # none yet (or unreadable: then so is the folder to a build)
        owner = None
    if owner == mine:
        return
    if (
        isinstance(owner, dict)
        and isinstance(owner.get("config"), str)
        and isinstance(owner.get("database"), str)
        and owner["config"] != mine["config"]
        and _writes_digests(Path(owner["config"]), Path(owner["database"]), folder)
        and Path(owner["database"]).resolve() != settings.database_path.resolve()
    ):
        raise ConfigError(
            f"{settings.config_path} has 1 problem:",
            problems=(
                f"paths.digests_dir: {folder} holds the digests of {owner['config']}: two"
                " configs cannot share one digests_dir (each build would overwrite the"
                " other's weeks, index.md and feed.xml); give this config a digests_dir of its"
                f" own (or delete {marker} if {owner['config']} no longer builds there)",
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


def _writes_digests(config: Path, database: Path, folder: Path) -> bool:
    """Whether the config file `config` still keeps its store at `database` and writes its
    digests into `folder` (a copy of a whole setup names the original's files)."""
    try:
        other = load_settings(config)
    except Exception:  # any reason it cannot be read: it cannot be building there
        return False
    return (
        other.database_path.resolve() == database.resolve()
        and other.paths.digests_dir.resolve() == folder.resolve()
    )


def _stores_in(config: Path, database: Path) -> bool:
    """Whether the config file `config` keeps its store at `database` now. A store copied or
    moved elsewhere (a backup restored, a copy to try an edit on) records the config that
    wrote the original, which keeps its own: the copy is not shared, so its new config takes
    it over. A config that is gone or no longer loads cannot use the store either."""
    try:
        other = load_settings(config)
    except Exception:  # any reason it cannot be read: it cannot be using this store
        return False
    return other.database_path.resolve() == database.resolve()
