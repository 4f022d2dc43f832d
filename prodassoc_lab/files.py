"""Writing files so that a failure never leaves half of one: every file the package writes goes through here.

A file is written to a temporary file in the same folder, flushed to disk and
renamed over the target in one step (``os.replace``), so a full disk, a crash
or a second run writing the same path leaves either the old file or the new
one, never a mixture. A symbolic link at the target is refused rather than
followed, so the file it points to is never overwritten. The new file gets the
permissions the process's umask gives, as an ordinary ``open`` would.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def check_writable_file(path: str | os.PathLike, what: str = "path") -> Path:
    """``path`` as a ``Path`` if a file may be written there, else ``ValueError`` naming ``what``.

    Checked: the folder exists and is writable, the path is not a folder, not
    a symbolic link and not a read-only file (a rename would replace it even
    so). Commands call it before any heavy work.
    """
    if not isinstance(path, (str, os.PathLike)) or str(path) in ("", "."):
        raise ValueError(f"{what} must be a file path, got {path!r}")
    path = Path(path)
    if path.is_symlink():
        raise ValueError(f"{what} {path} is a symbolic link; give the path of a regular file")
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder; give a file name")
    if path.exists() and not path.is_file():
        raise ValueError(f"{what} {path} exists and is not a regular file")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{what} {path} is read-only; it is not replaced (make it writable or choose another path)")
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"{what}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{what}: folder {folder} is not writable")
    return path


def write_atomically(path: str | os.PathLike, write: Callable[[Path], object], what: str = "path") -> Path:
    """Call ``write(temporary_path)``, then rename the temporary file to ``path`` in one step.

    On any failure the temporary file is removed and ``path`` keeps what it held.
    """
    path = check_writable_file(path, what)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(temporary)
    try:
        write(temporary)
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        umask = os.umask(0)
        os.umask(umask)
        temporary.chmod(0o666 & ~umask)  # mkstemp makes 0600; an ordinary file follows the umask
        os.replace(temporary, path)
    except BaseException:
        if temporary.is_dir() and not temporary.is_symlink():  # a writer that made a folder instead of a file
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            temporary.unlink(missing_ok=True)
        raise
    return path
