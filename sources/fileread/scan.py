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

_BRACKET = re.compile(rb"[\[\]{}]")
_QUOTE, _OPEN_LIST, _OPEN_OBJECT, _BACKSLASH = ord('"'), ord("["), ord("{"), ord("\\")
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
    """A window on a chunk iterator addressed by absolute offsets.

    Bytes are dropped only when the window is refilled (`more(keep_from)`), never per value (a
    copy per item made reading quadratic in the chunk size), so the window is at most one chunk
    plus the value being read.
    """

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
        items after it. With keep=False the bytes are dropped as the scan goes (for skipping).
        Strings are skipped with bytes.find (memchr speed); only the gaps between them are
        searched for brackets.
        """
        first = self.byte(start)
        if first == _QUOTE:
            return self._scan_string(start)
        if first != _OPEN_LIST and first != _OPEN_OBJECT:
            return self._scan_scalar(start)
        stack = bytearray()
        depth = 0
        pos = start  # next byte to look at, outside any string
        while True:
            buf, base = self.buf, self.base
            quote = buf.find(b'"', pos - base)
            gap_end = quote if quote != -1 else len(buf)
            bracket = _BRACKET.search(buf, pos - base, gap_end)
            while bracket is not None:
                token = buf[bracket.start()]
                if token == _OPEN_LIST or token == _OPEN_OBJECT:
                    stack.append(token)
                    if len(stack) > depth:
                        depth = len(stack)
                else:
                    opener = _CLOSER[token]
                    while stack and stack.pop() != opener:
                        pass
                    if not stack:
                        return Span(start, base + bracket.end(), depth)
                bracket = _BRACKET.search(buf, bracket.end(), gap_end)
            if quote == -1:
                pos = base + len(buf)
            else:
                end = buf.find(b'"', quote + 1)  # the closing quote, inlined: this is the hot loop
                while end != -1 and buf[end - 1] == _BACKSLASH:
                    back = end - 1
                    while buf[back] == _BACKSLASH:
                        back -= 1
                    if (end - 1 - back) % 2 == 0:  # an even run of backslashes: not escaped
                        break
                    end = buf.find(b'"', end + 1)
                if end != -1:
                    pos = base + end + 1
                    continue
                pos = base + quote  # the string runs past the window: refill and look again
            if not self.more(start if keep else pos):
                return Span(start, self.end, depth, complete=False)

    def _string_end(self, quote: int) -> int | None:
        """Window index just past the string opened at window index `quote`, or None if it runs past the window."""
        buf = self.buf
        end = quote + 1
        while True:
            end = buf.find(b'"', end)
            if end == -1:
                return None
            back = end - 1
            while buf[back] == _BACKSLASH:
                back -= 1
            if (end - 1 - back) % 2 == 0:  # an even run of backslashes: the quote is not escaped
                return end + 1
            end += 1

    def _scan_string(self, start: int) -> Span:
        while True:
            end = self._string_end(start - self.base)
            if end is not None:
                return Span(start, self.base + end, 0)
            if not self.more(start):
                return Span(start, self.end, 0, complete=False)

    def _scan_scalar(self, start: int) -> Span:
        while True:
            match = _SCALAR_END.search(self.buf, start - self.base + 1)
            if match is not None:
                return Span(start, self.base + match.start(), 0)
            if not self.more(start):
                return Span(start, self.end, 0)
