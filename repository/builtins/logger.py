"""The `logger` built-in: a line a message to the log and, with `file`, to a file in the log
folder."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from igwcore.message import Message, RequestContext
from igwcore.problems import ArgumentError

STAGE_LOG = logging.getLogger("integration_gateway.stage.logger")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MAX_FILES = 100  # [services.logger] max_files's default
# A file name inside the log folder: not absolute, no `..` segment, no backslash, no NUL
# nor other control character.
LOG_FILE_PATTERN = r"^(?!/)(?!(?:.*/)?\.\.(?:/|$))[^\\\x00-\x1f\x7f]+$"
_CONTROL = {c: f"\\x{c:02x}" for c in range(0x20)} | {0x7F: "\\x7f"}


class Logger:
    """Logs one line a message (method, path, media type, size, request id), at `level`,
    to the `integration_gateway.stage.logger` logger and, with `file`, to that file in
    `[services.logger] dir`; passes the message on unchanged. `settings` is that table, its
    `dir` already made absolute by the gateway (relative to the config file's folder)."""

    fixed_size = True

    def __init__(
        self,
        level: str = "INFO",
        file: str | None = None,
        *,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        settings = settings or {}
        self.check_args({"level": level, "file": file}, settings)
        self._level_name = level
        self._level: int = logging.getLevelNamesMapping()[level]
        self._fd: int | None = None
        self.path: Path | None = None
        if file is not None:
            self.path, self._fd = LOG_FILES.open(_folder(settings), file, _max_files(settings))

    @classmethod
    def check_args(cls, args: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        level = args.get("level", "INFO")
        if level not in LEVELS:
            raise ArgumentError("level", f"one of {', '.join(LEVELS)}")
        file = args.get("file")
        if file is None:
            return
        if not isinstance(file, str) or not file:
            raise ArgumentError("file", "a file name")
        if file.startswith("/") or "\\" in file:
            raise ArgumentError("file", "a file name inside the log folder, not a path")
        if any(ord(c) < 0x20 or c == "\x7f" for c in file):
            raise ArgumentError("file", "a file name without control characters")
        if ".." in file.split("/"):
            raise ArgumentError("file", "a '..' segment would leave the log folder")
        LOG_FILES.check_room(_folder(settings), file, _max_files(settings))

    async def __call__(self, message: Message, request: RequestContext | None = None) -> Message:
        return self.call_now(message, request)

    def call_now(self, message: Message, request: RequestContext | None = None) -> Message:
        """Log the line (a write of a line to the log and to its file: never waited for)."""
        logged = STAGE_LOG.isEnabledFor(self._level)
        if not logged and self._fd is None:
            return message
        if request is None:
            request = RequestContext(method="-", path="-")
        path = request.path if request.path.isprintable() else request.path.translate(_CONTROL)
        line = (
            f"{request.method} {path} {message.media_type} "
            f"{len(message.body)} bytes request_id={request.request_id or '-'}"
        )
        if logged:
            STAGE_LOG.log(self._level, "%s", line)
        if self._fd is not None:
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            # One write on an O_APPEND descriptor: lines from concurrent stages never mix.
            os.write(self._fd, f"{stamp} {self._level_name} {line}\n".encode())
        return message

    def close(self) -> None:
        path, self._fd = self.path, None
        if path is not None:
            self.path = None
            LOG_FILES.close(path)

    def size_bytes(self) -> int:
        return sys.getsizeof(self) + 512


def _folder(settings: Mapping[str, Any]) -> Path:
    return Path(str(settings.get("dir", "var/log")))


def _max_files(settings: Mapping[str, Any]) -> int:
    return int(settings.get("max_files", MAX_FILES))


class LogFiles:
    """The log folders' open files, one descriptor a file whatever number of logger
    stages (of whatever applications) name it, closed with the last of them; and the
    count of what a folder holds, which a new name may not take past `max_files`
    (SPEC §10.6). One a process: file descriptors are the process's."""

    def __init__(self) -> None:
        self._open: dict[Path, list[int]] = {}  # real path -> [descriptor, stages using it]
        self._lock = threading.Lock()

    def check_room(self, folder: Path, file: str, max_files: int) -> None:
        """ArgumentError when `file` is new and the folder already holds `max_files`."""
        base = Path(os.path.realpath(folder))
        target = _inside(base, file)
        if target in self._open or target.exists():
            return
        new = 1 + sum(
            1 for p in target.parents if p != base and base in p.parents and not p.exists()
        )
        held = _entries(base)
        if held + new > max_files:
            raise ArgumentError(
                "file",
                f"the log folder holds {held} files and folders; [services.logger] max_files "
                f"is {max_files}, so no new file {file!r}",
            )

    def open(self, folder: Path, file: str, max_files: int) -> tuple[Path, int]:
        """(the real path, its shared descriptor) of `file` inside `folder`. The count
        and the new file are one step for every process of the node (the workers): under
        an exclusive lock on the folder itself."""
        with self._lock, _folder_lock(folder):
            self.check_room(folder, file, max_files)
            path = _log_path(folder, file)
            shared = self._open.get(path)
            if shared is None:
                try:
                    fd = os.open(
                        path,
                        os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW,
                        0o640,
                    )
                except OSError as e:
                    raise ArgumentError("file", f"cannot open {file!r}: {e.strerror}") from e
                shared = self._open[path] = [fd, 0]
            shared[1] += 1
            return path, shared[0]

    def close(self, path: Path) -> None:
        with self._lock:
            shared = self._open.get(path)
            if shared is None:
                return
            shared[1] -= 1
            if shared[1] == 0:
                del self._open[path]
                os.close(shared[0])

    def users(self, path: Path) -> int:
        """How many stages write to `path` now (0: it is not open)."""
        shared = self._open.get(path)
        return shared[1] if shared is not None else 0


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """flock on the folder's own descriptor: no lock file to count among its entries."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise ArgumentError("file", f"cannot open the log folder: {e.strerror}") from e
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and with it the lock


def _entries(base: Path) -> int:
    """The files and folders under `base`, at any depth (0 when it does not exist)."""
    count = 0
    for _, folders, files in os.walk(base):
        count += len(folders) + len(files)
    return count


def _inside(base: Path, file: str) -> Path:
    real = Path(os.path.realpath(os.path.join(base, file)))
    if real == base or base not in real.parents:
        raise ArgumentError("file", f"{file!r} leaves the log folder")
    return real


LOG_FILES = LogFiles()


def _log_path(folder: Path, file: str) -> Path:
    """`file` inside `folder`, symbolic links resolved; ArgumentError if it leaves it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ArgumentError("file", f"cannot create the log folder: {e.strerror}") from e
    base = os.path.realpath(folder)

    def inside() -> str:
        real = os.path.realpath(os.path.join(base, file))
        if real == base or os.path.commonpath([base, real]) != base:
            raise ArgumentError("file", f"{file!r} leaves the log folder")
        return real

    real = inside()
    try:
        Path(real).parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ArgumentError("file", f"cannot create its folder: {e.strerror}") from e
    return Path(inside())  # again: a link may have appeared while the folders were made
