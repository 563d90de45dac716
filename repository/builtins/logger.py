"""The `logger` built-in: a line a message to the log and, with `file`, to a file in the log
folder."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from igwcore.message import Message, RequestContext
from igwcore.problems import ArgumentError

STAGE_LOG = logging.getLogger("integration_gateway.stage.logger")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# A file name inside the log folder: not absolute, no `..` segment, no backslash, no NUL
# nor other control character.
LOG_FILE_PATTERN = r"^(?!/)(?!(?:.*/)?\.\.(?:/|$))[^\\\x00-\x1f\x7f]+$"
_CONTROL = {c: f"\\x{c:02x}" for c in range(0x20)} | {0x7F: "\\x7f"}


class Logger:
    """Logs one line a message (method, path, media type, size, request id), at `level`,
    to the `integration_gateway.stage.logger` logger and, with `file`, to that file in
    `[services.logger] dir`; passes the message on unchanged. `settings` is that table, its
    `dir` already made absolute by the gateway (relative to the config file's folder)."""

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
            self.path = _log_path(Path(str(settings.get("dir", "var/log"))), file)
            try:
                self._fd = os.open(
                    self.path,
                    os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW,
                    0o640,
                )
            except OSError as e:
                raise ArgumentError("file", f"cannot open {file!r}: {e.strerror}") from e

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

    async def __call__(self, message: Message, request: RequestContext | None = None) -> Message:
        if request is None:
            request = RequestContext(method="-", path="-")
        line = (
            f"{request.method} {request.path.translate(_CONTROL)} {message.media_type} "
            f"{len(message.body)} bytes request_id={request.request_id or '-'}"
        )
        STAGE_LOG.log(self._level, "%s", line)
        if self._fd is not None:
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            # One write on an O_APPEND descriptor: lines from concurrent stages never mix.
            os.write(self._fd, f"{stamp} {self._level_name} {line}\n".encode())
        return message

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def size_bytes(self) -> int:
        return sys.getsizeof(self) + 512


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
