"""Windows-1252 CSV files (docs/spec.md section 2): read as cp1252 when they are not UTF-8 and every byte
decodes that way.

Excel on Windows saves "CSV" in the machine's ANSI code page, which in the US and Western Europe is
Windows-1252 (Python's ``cp1252`` codec): ``é`` is the single byte 0xE9, not valid UTF-8. Such a file
is decoded as cp1252 and staged from a UTF-8 copy; the run's summary names the file and its
encoding. A file with a byte that cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) is not
cp1252: it is read as UTF-8 and each bad row is rejected (``row: not valid UTF-8``).
"""

from __future__ import annotations

import codecs
import gzip
import os
import re
import tempfile
from pathlib import Path

#: Bytes read at a time while checking or copying a file.
_BLOCK = 1 << 22
#: A quoted value (kept whole), or a line end outside quotes.
_LINE_END_OUTSIDE_QUOTES = re.compile(r'("[^"]*")|\r\n?')


def _open(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with _open(path) as fh:
            while block := fh.read(_BLOCK):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except (UnicodeDecodeError, OSError, EOFError):
        return False
    return True


def is_cp1252(path: Path) -> bool:
    """The file is not valid UTF-8 and every byte of it decodes as cp1252 (docs/spec.md section 2)."""
    return not _decodes(path, "utf-8") and _decodes(path, "cp1252")


def utf8_copy(path: Path) -> Path:
    """A temporary UTF-8 copy of a cp1252 file (the caller deletes it), its line ends outside quoted
    values made LF (so DuckDB's strict parser reads a file that mixes them)."""
    with _open(path) as fh:
        text = fh.read().decode("cp1252")
    if text.startswith("\ufeff"):
        text = text[1:]
    fd, tmp = tempfile.mkstemp(prefix="dispo-cp1252-", suffix=".csv")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        out.write(_LINE_END_OUTSIDE_QUOTES.sub(lambda m: m.group(1) or "\n", text))
    return Path(tmp)
