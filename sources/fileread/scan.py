"""Find where JSON values begin and end in a byte stream, without parsing or holding the file.

Why by hand: a streaming parser (ijson) yields parsed objects but neither the byte span of an
item nor a way to go on after a broken one, and one bad byte or bracket would end the file.
This scanner only tracks strings and bracket nesting (the regex does the byte work), so each
top-level item's bytes can be cut out, hashed and parsed on its own by orjson: a broken item
costs that item, not the rest of the file. Memory stays at one item plus a read chunk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# A complete string, a bracket, or a lone quote (a string that runs past the buffer's end).
_TOKEN = re.compile(rb'"(?:[^"\\]++|\\.)*+"|[\[\]{}]|"', re.S)
_NON_SPACE = re.compile(rb"[^ \t\r\n]")
_SCALAR_END = re.compile(rb"[,\]}\s]")
_CLOSER = {ord("]"): ord("["), ord("}"): ord("{")}


@dataclass(frozen=True, slots=True)
class Span:
    """One value's bytes: [start, end) in the stream, its nesting depth, whether it ended."""

    start: int
    end: int
    depth: int
    complete: bool = True


class ByteStream:
    """A window on a chunk iterator addressed by absolute offsets; grows only while a value is open."""

    def __init__(self, chunks: Iterator[bytes], chunk_size: int = 1 << 20) -> None:
        self._chunks = chunks
        self._chunk_size = chunk_size
        self.buf = b""
        self.base = 0  # stream offset of buf[0]
        self.eof = False

    @property
    def end(self) -> int:
        return self.base + len(self.buf)

    def more(self, keep_from: int) -> bool:
        """Drop bytes before `keep_from`, append at least one more chunk; False at end of stream."""
        if self.eof:
            return False
        keep_from = max(keep_from, self.base)
        parts = [self.buf[keep_from - self.base :]]
        want = max(self._chunk_size, len(parts[0]))  # doubling: a huge value costs linear time
        got = 0
        while got < want:
            block = next(self._chunks, None)
            if block is None:
                self.eof = True
                break
            parts.append(block)
            got += len(block)
        self.buf = b"".join(parts)
        self.base = keep_from
        return got > 0

    def release(self, upto: int) -> None:
        """Forget bytes before `upto` (called between values)."""
        if upto > self.base:
            self.buf = self.buf[upto - self.base :]
            self.base = upto

    def next_non_space(self, pos: int) -> int | None:
        """Offset of the next non-whitespace byte at or after `pos`, or None at end of stream."""
        while True:
            match = _NON_SPACE.search(self.buf, max(pos - self.base, 0))
            if match is not None:
                return self.base + match.start()
            pos = self.end
            if not self.more(pos):
                return None

    def byte(self, pos: int) -> int:
        return self.buf[pos - self.base]

    def take(self, start: int, end: int) -> bytes:
        return self.buf[start - self.base : end - self.base]

    def scan_value(self, start: int, *, keep: bool = True) -> Span:
        """The span of the value starting at `start` (a non-space byte).

        Brackets are matched as a stack; a closer that does not match the innermost opener closes
        up to its own opener, so a damaged item ends near where it broke instead of swallowing the
        items after it. With keep=False the bytes are released as the scan goes (for skipping).
        """
        first = self.byte(start)
        if first == ord('"'):
            return self._scan_string(start)
        if first not in (ord("["), ord("{")):
            return self._scan_scalar(start)
        stack = bytearray()
        depth = 0
        pos = start
        while True:
            match = _TOKEN.search(self.buf, pos - self.base)
            if match is None or match.end() - match.start() == 1 and self.buf[match.start()] == ord('"'):
                resume = self.end if match is None else self.base + match.start()
                if not self.more(start if keep else resume):
                    return Span(start, self.end, depth, complete=False)
                pos = resume
                continue
            pos = self.base + match.end()
            token = self.buf[match.start()]
            if token in (ord("["), ord("{")):
                stack.append(token)
                depth = max(depth, len(stack))
            elif token in _CLOSER:
                opener = _CLOSER[token]
                while stack and stack.pop() != opener:
                    pass
                if not stack:
                    return Span(start, pos, depth)

    def _scan_string(self, start: int) -> Span:
        while True:
            match = _TOKEN.match(self.buf, start - self.base)
            if match is not None and match.end() - match.start() > 1:
                return Span(start, self.base + match.end(), 0)
            if not self.more(start):
                return Span(start, self.end, 0, complete=False)

    def _scan_scalar(self, start: int) -> Span:
        while True:
            match = _SCALAR_END.search(self.buf, start - self.base + 1)
            if match is not None:
                return Span(start, self.base + match.start(), 0)
            if not self.more(start):
                return Span(start, self.end, 0)
