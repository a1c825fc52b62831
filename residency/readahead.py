"""Read-ahead for stored objects: the next chunks are fetched (disk or network) while the caller decrypts.

Without it, reading a file is a chain of "wait for the disk, then decrypt";
with it the two overlap, since reads release the GIL. Memory is bounded by
``depth`` chunks of ``CHUNK`` bytes. A reader abandoned without ``close`` stops
its thread after ``IDLE_SECONDS`` without a read.
"""

from __future__ import annotations

import io
import queue
import threading
from typing import BinaryIO

CHUNK = 1 << 20
IDLE_SECONDS = 60.0
_END = b""


class ReadAhead(io.RawIOBase):
    def __init__(self, source: BinaryIO, *, depth: int = 3) -> None:
        self._source = source
        self._chunks: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=depth)
        self._closed_by_reader = threading.Event()
        self._current = memoryview(b"")
        self._done = False
        self._thread = threading.Thread(target=self._fetch, name="portico-readahead", daemon=True)
        self._thread.start()

    def _put(self, item: bytes | BaseException) -> bool:
        waited = 0.0
        while not self._closed_by_reader.is_set():
            try:
                self._chunks.put(item, timeout=0.5)
                return True
            except queue.Full:
                waited += 0.5
                if waited >= IDLE_SECONDS:
                    return False
        return False

    def _fetch(self) -> None:
        try:
            while True:
                chunk = self._source.read(CHUNK)
                if not self._put(chunk) or not chunk:
                    return
        except BaseException as exc:  # handed to the reader, raised there
            self._put(exc)
        finally:
            self._source.close()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        while not self._current and not self._done:
            item = self._chunks.get()
            if isinstance(item, BaseException):
                self._done = True
                raise item
            if item == _END:
                self._done = True
            self._current = memoryview(item)
        piece, self._current = self._current[:size], self._current[size:]
        return piece.tobytes()

    def readall(self) -> bytes:
        parts = []
        while part := self.read(CHUNK):
            parts.append(part)
        return b"".join(parts)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._closed_by_reader.set()
            while True:  # unblock the fetcher if it waits on a full queue
                try:
                    self._chunks.get_nowait()
                except queue.Empty:
                    break
        super().close()
