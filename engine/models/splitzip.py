"""Read several files as one seekable stream: a zip split into parts (`x.zip.001`, `x.zip.002`, ...) opens
with zipfile directly, without first writing the concatenation to disk."""

from __future__ import annotations

import bisect
import io
import os
from collections.abc import Sequence
from pathlib import Path


class ConcatenatedFile(io.RawIOBase):
    def __init__(self, paths: Sequence[Path]) -> None:
        self._files = [open(p, "rb") for p in paths]  # noqa: SIM115 - closed in close()
        sizes = [os.fstat(f.fileno()).st_size for f in self._files]
        self._starts = [sum(sizes[:i]) for i in range(len(sizes))]  # offset of each part in the whole
        self._size_bytes = sum(sizes)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size_bytes}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self._size_bytes:
            part = bisect.bisect_right(self._starts, self._pos) - 1
            f = self._files[part]
            f.seek(self._pos - self._starts[part])
            n = f.readinto(
                view[done:]
            )  # stops at the end of this part; the next loop reads the following one
            if not n:  # a part shorter than when it was opened
                break
            done += n
            self._pos += n
        return done

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()
