"""Settings, read once from the environment (see PRODUCT.md, "External contract")."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .tiles import DEFAULT_MAX_TILES

DEFAULT_DATABASE_URL = "sqlite:///walkapp.sqlite"
DEFAULT_TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "&copy; les contributeurs d'OpenStreetMap"
DEFAULT_TIMEZONE = "Europe/Paris"  # the walks happen in France; walkapp.clock reads it
SECRET_FILE_NAME = ".secret_key"

# Where the templates and static files live: beside the package, as in the design card.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "static"


class SettingsError(ValueError):
    """A setting that cannot work; the message says which and why, in plain words."""


@dataclass(frozen=True)
class DatabaseSettings:
    url: str

    @property
    def engine_type(self) -> str:
        if self.url.startswith("sqlite:///"):
            return "sqlite"
        if self.url.startswith(("postgresql://", "postgres://")):
            return "postgres"
        raise SettingsError(
            f"WALKAPP_DATABASE_URL must start with sqlite:/// or postgresql://, not {self.url!r}"
        )

    @property
    def sqlite_path(self) -> Path:
        """`sqlite:///relative.sqlite` is relative to the working folder; `sqlite:////abs` absolute."""
        return Path(self.url[len("sqlite:///") :])


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings
    media_dir: Path
    secret_key: str
    tiles_url: str
    tiles_attribution: str
    timezone: ZoneInfo
    # Days after which photos' originals are deleted (walkapp.privacy); None: kept.
    originals_retention_days: int | None = None
    # Whether `walkapp serve` processes blur photos (WALKAPP_BLUR_IN_SERVER=0: no; then run
    # `walkapp blur-pending` from elsewhere, as the test suite's live server does).
    blur_in_server: bool = True
    # The tiles a phone keeps for the walk's area (walkapp.tiles): "area" (fetched in advance),
    # "viewed" (kept as the maps show them) or "off"; and how many at most.
    offline_tiles: str = "viewed"
    offline_tiles_max: int = DEFAULT_MAX_TILES

    @classmethod
    def from_env(cls, env: os._Environ[str] | dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        database = DatabaseSettings(env.get("WALKAPP_DATABASE_URL") or DEFAULT_DATABASE_URL)
        _ = database.engine_type  # fail early on a URL we can't use
        media_dir = Path(env.get("WALKAPP_MEDIA_DIR") or "media").resolve()
        tiles_url = env.get("WALKAPP_TILES_URL") or DEFAULT_TILES_URL
        attribution = env.get("WALKAPP_TILES_ATTRIBUTION") or (
            OSM_ATTRIBUTION if tiles_url == DEFAULT_TILES_URL else "Fond de carte"
        )
        secret = env.get("WALKAPP_SECRET_KEY") or load_or_create_secret(media_dir)
        timezone = site_timezone(env.get("WALKAPP_TIMEZONE") or DEFAULT_TIMEZONE)
        retention = retention_days(env.get("WALKAPP_ORIGINALS_RETENTION_DAYS") or "")
        blur_in_server = (env.get("WALKAPP_BLUR_IN_SERVER") or "1").strip().lower() not in ("0", "no", "false", "off")
        offline = offline_tiles_mode(env.get("WALKAPP_TILES_OFFLINE") or "", tiles_url)
        offline_max = offline_tiles_max(env.get("WALKAPP_TILES_OFFLINE_MAX") or "")
        return cls(database, media_dir, secret, tiles_url, attribution, timezone, retention, blur_in_server,
                   offline, offline_max)


# Servers whose usage policy forbids fetching tiles in advance for offline use
# (https://operations.osmfoundation.org/policies/tiles/, "Bulk downloading").
NO_PREFETCH_HOSTS = ("tile.openstreetmap.org",)
OFFLINE_TILES_LIMIT = 5000  # beyond this, whatever the server, it is a bulk download


def offline_tiles_mode(raw: str, tiles_url: str) -> str:
    """WALKAPP_TILES_OFFLINE: area | viewed | off. Unset: "area" for the site's own tiles (a
    relative WALKAPP_TILES_URL), "viewed" for any other server. "area" is refused for a server
    whose policy forbids prefetching (OpenStreetMap's)."""
    host = urlsplit(tiles_url).hostname or ""
    value = raw.strip().lower() or ("area" if not host else "viewed")
    if value not in ("area", "viewed", "off"):
        raise SettingsError(f"WALKAPP_TILES_OFFLINE: area, viewed or off, not {raw!r}")
    if value == "area" and any(host == h or host.endswith("." + h) for h in NO_PREFETCH_HOSTS):
        raise SettingsError(
            f"WALKAPP_TILES_OFFLINE=area: {host} forbids fetching tiles in advance for offline use "
            "(https://operations.osmfoundation.org/policies/tiles/); use viewed, or a tile server that allows it")
    return value


def offline_tiles_max(raw: str) -> int:
    """WALKAPP_TILES_OFFLINE_MAX: how many tiles a phone keeps for a walk, 1 to 5000 (default:
    walkapp.tiles.DEFAULT_MAX_TILES)."""
    if not raw.strip():
        return DEFAULT_MAX_TILES
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if not 1 <= value <= OFFLINE_TILES_LIMIT:
        raise SettingsError(
            f"WALKAPP_TILES_OFFLINE_MAX: a number of tiles from 1 to {OFFLINE_TILES_LIMIT}, not {raw!r}")
    return value


def retention_days(raw: str) -> int | None:
    """WALKAPP_ORIGINALS_RETENTION_DAYS: a whole number of days (1 or more), or unset."""
    if not raw.strip():
        return None
    try:
        days = int(raw.strip())
    except ValueError:
        days = 0
    if days < 1:
        raise SettingsError(f"WALKAPP_ORIGINALS_RETENTION_DAYS: a number of days (1 or more), not {raw!r}")
    return days


def site_timezone(name: str) -> ZoneInfo:
    """The IANA zone people read times in; refused at start rather than wrong on every page."""
    try:
        return ZoneInfo(name.strip())
    # ValueError: a path such as "../x"; OSError: a folder of zones such as "Europe" (tzdata).
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise SettingsError(
            f"WALKAPP_TIMEZONE: unknown time zone {name!r}; use an IANA name such as Europe/Paris"
        ) from error


def load_or_create_secret(media_dir: Path) -> str:
    """The secret key kept in the media folder, made once on first start.

    Sessions are signed with it, so it must survive restarts: a key made anew on each start would
    sign everybody out. The media folder is the one persistent, writable place every install has
    (and what a backup takes). O_EXCL makes two workers starting together agree on one key.
    """
    media_dir.mkdir(parents=True, exist_ok=True)
    path = media_dir / SECRET_FILE_NAME
    if not path.exists():
        # Written whole to a temporary file, then linked into place: link() fails if another
        # process won the race, and nobody ever reads a half-written key.
        tmp = media_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text().strip()
    if len(key) < 32:
        raise SettingsError(f"{path} is too short to be a secret key: delete it or fix it")
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
