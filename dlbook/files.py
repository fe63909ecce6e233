"""File integrity, shared by the data cache and the shipped checkpoints.

:func:`write_atomically` writes through a temporary file in the target's folder and
renames it into place only once its SHA-256 matches, so a reader never sees a
half-written file under its real name. The result gets the mode the umask allows
(typically 0644), so a data cache shared by a group stays readable by the group.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


class CorruptFileError(RuntimeError):
    """A file does not match its recorded checksum."""

    def __init__(self, message: str, path: Path | None = None):
        super().__init__(message)
        self.path = path


def sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it...
    os.umask(mask)  # ...and put it straight back
    return mask


def write_atomically(target: Path, fill: Callable[[BinaryIO], None], expected: str | None) -> None:
    """Write ``target`` via a temporary file, renamed only if its checksum is ``expected``.

    ``expected=None`` writes a file whose checksum is not known yet (a retrained
    checkpoint). Nothing is left behind when ``fill`` or the check fails.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            fill(out)
        actual = sha256(Path(tmp))
        if expected is not None and actual != expected:
            raise CorruptFileError(f"{target.name}: got sha256 {actual}, expected {expected}")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600: private to whoever fetched
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def explain_os_error(error: OSError, folder: Path, fill: str | None = None) -> str:
    """What an ``OSError`` in ``folder`` means for the reader, and the fix.

    ``fill`` is the command that puts the missing files into ``folder`` (for example
    ``python -m dlbook fetch mnist``), named in the advice for a shared folder.
    """
    fill = f" ({fill})" if fill else ""
    if isinstance(error, PermissionError) or error.errno in (errno.EACCES, errno.EPERM):
        return (
            f"permission denied ({error}). If {folder} is shared, ask its owner to make it "
            f"readable (chmod -R a+rX '{folder}') and to fetch what is missing there{fill}; "
            "or point DLBOOK_DATA at a folder of your own."
        )
    if error.errno == errno.EROFS:
        return (
            f"{folder} is on a read-only file system ({error}), and a file is missing there. "
            f"Ask whoever manages the shared copy to fetch it{fill}, or point DLBOOK_DATA at a "
            "writable folder."
        )
    if error.errno == errno.ENOSPC:
        return (
            f"no space left on the device that holds {folder} ({error}). Free some space "
            "or point DLBOOK_DATA at a folder on another disk."
        )
    if error.errno == errno.EDQUOT:
        return (
            f"your disk quota is used up on the file system that holds {folder} ({error}). "
            "Free some space, or point DLBOOK_DATA at a folder with room (on a cluster, a "
            "project or scratch folder rather than your home)."
        )
    return f"{error} (in {folder})"
