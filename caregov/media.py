"""Files caregov keeps under MEDIA_ROOT (uploaded ECM exports waiting for the worker, built board
packs), named in the database relative to it.

The web server and the worker each mount the same storage at their own MEDIA_ROOT (in
docker-compose.yml, the `media` volume), so a stored name means the same file to both, and still
does after the storage is mounted somewhere else.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT).resolve()


def media_path(name: str, *, within: str = "") -> Path:
    """The file a stored name refers to, under MEDIA_ROOT (or its folder `within`) as it is now.
    Refuses an absolute name and one that leads out (by "..", or a link pointing elsewhere)."""
    if not name or PurePosixPath(name).is_absolute() or Path(name).is_absolute():
        raise SuspiciousFileOperation(f"Stored file names are relative to MEDIA_ROOT: {name!r}")
    root = (media_root() / within).resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise SuspiciousFileOperation(f"{name!r} leads out of {root}")
    return path


def media_name(path: Path) -> str:
    """The name to store for a file under MEDIA_ROOT: relative to it, with forward slashes."""
    return Path(path).resolve().relative_to(media_root()).as_posix()
