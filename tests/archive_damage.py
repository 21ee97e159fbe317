"""A damaged copy of a gzip archive for the "damaged archive is refused" tests.

Not every flipped bit damages an archive: a bit in a gzip member's MTIME/XFL/OS header bytes is never read, and in
a long run of zeros (a tar's end-of-archive padding) a back-reference one distance further still copies zeros, so
the archive decompresses to the very same bytes and a correct restore of it is right. A test that flips "the middle
byte" therefore fails now and then (the compose scenario did in CI on 2026-12-01). This helper flips the first bit
from the middle on whose flip the content changes or no longer decompresses, so the test proves what it names."""

import gzip
import zlib
from pathlib import Path


def _content(data):
    try:
        return gzip.decompress(bytes(data))
    except (OSError, EOFError, zlib.error):
        return None


def damaged_copy(src, dst, bit=0x01):
    """Write to `dst` a copy of `src` with one bit flipped, from the middle on, that changes what the archive holds
    (or breaks its gzip stream). Returns the offset flipped."""
    data = bytearray(Path(src).read_bytes())
    original = _content(data)
    for offset in range(len(data) // 2, len(data)):
        data[offset] ^= bit
        if _content(data) != original:
            Path(dst).write_bytes(bytes(data))
            return offset
        data[offset] ^= bit
    raise AssertionError(f"no single-bit flip from the middle of {src} changes its content")
