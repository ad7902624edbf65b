"""Writing files atomically, and one-line errors that name the file that could not be written.

Every file graphae writes goes through :func:`atomic_path` (or
:func:`atomic_write`, which opens it): the content goes to a hidden
temporary file in the destination's folder, which is renamed over the
destination (:func:`os.replace`) only once it is complete. On any failure,
``KeyboardInterrupt`` included, the temporary file is removed and the
destination is left as it was: a reader sees the old file or the new one,
never half of one.

A failing write raises :class:`OutputError`, which names the destination
(not the temporary file) and knows the exit code of the ``graphae``
command (see :func:`exit_code`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from graphae.errors import GraphaeError

#: Exit code for an output path the user chose and can fix.
EXIT_USER = 2
#: Exit code for a write the machine failed (disk full, I/O error).
EXIT_ENVIRONMENT = 1

#: errnos a user fixes by choosing another path or changing its folder:
#: permissions, a read-only file system, a missing folder, a file where a
#: folder is expected (or the reverse), a name too long or a link loop.
USER_FIXABLE_ERRNOS = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EEXIST,
        errno.ENAMETOOLONG,
        errno.ELOOP,
    }
)


def exit_code(error_number: int | None) -> int:
    """``2`` for an output path the user can fix, ``1`` for a fault of the machine.

    User-fixable are the errnos of :data:`USER_FIXABLE_ERRNOS` (permission
    denied, read-only file system, no such folder, not a folder, is a folder,
    ...); everything else, above all a full disk (``ENOSPC``, ``EDQUOT``) and
    I/O errors (``EIO``), is the environment's.
    """
    return EXIT_USER if error_number in USER_FIXABLE_ERRNOS else EXIT_ENVIRONMENT


class OutputError(GraphaeError):
    """An output could not be written: ``cannot write <path>: <reason>``.

    Attributes:
        path: the file or folder graphae was writing.
        errno: the operating system's error number (``errno.ENOSPC``, ...).
        exit_code: the ``graphae`` command's exit status for it (:func:`exit_code`).

    """

    def __init__(self, path: str | Path, error: OSError) -> None:
        self.path = Path(path)
        self.errno = error.errno
        self.exit_code = exit_code(error.errno)
        super().__init__(f"cannot write {path}: {error.strerror or error}")


def _os_error(number: int, path: str | Path) -> OSError:
    return OSError(number, os.strerror(number), str(path))


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed to ``path`` when the body succeeds.

    The temporary name keeps ``path``'s extension (``.checkpoint.x1y2.tmp.pt``)
    so that writers that choose the format by extension, or append one
    (``numpy.save``), write the right thing. The folder must exist. A
    destination that is a device or a pipe (``/dev/stdout``) is written in
    place; a symbolic link is written through (its target is replaced).

    Yields:
        Path: the file to write (already created, empty).

    Raises:
        OutputError: the file cannot be written (disk full, permission
            denied, no such folder, ...); the temporary file is removed.

    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(path, _os_error(errno.EISDIR, path))
    if path.exists() and not path.is_file():  # a device or a pipe: no rename over it
        try:
            yield path
        except OSError as exc:
            raise OutputError(path, exc) from exc
        return
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    tmp: Path | None = None
    try:
        fd, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}"
        )
        tmp = Path(name)
        os.close(fd)
        os.chmod(tmp, new_file_mode())  # mkstemp's files are private (0600)
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        raise OutputError(path, exc) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb", **open_kwargs: Any) -> Iterator[IO[Any]]:
    """:func:`atomic_path` with the temporary file opened (``torch.save(obj, f)``).

    Args:
        path (str or Path): the destination.
        mode (str, optional): ``"wb"`` or ``"w"``. (default: ``"wb"``)
        **open_kwargs: passed to :func:`open` (``encoding``, ``newline``).

    Raises:
        OutputError: as :func:`atomic_path`; errors while writing or closing
            the file (a full disk shows when the buffer is flushed) included.

    """
    with atomic_path(path) as tmp, open(tmp, mode, **open_kwargs) as f:
        yield f


def make_folder(folder: str | Path) -> Path:
    """``mkdir -p folder``, raising :class:`OutputError` (a file in the way: ``ENOTDIR``)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # something that is not a folder has that name
        raise OutputError(folder, _os_error(errno.ENOTDIR, folder)) from None
    except OSError as exc:
        raise OutputError(exc.filename or folder, exc) from exc
    return folder


def new_file_mode() -> int:
    """The permissions ``open(path, "w")`` would give: ``0o666`` less the umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask
