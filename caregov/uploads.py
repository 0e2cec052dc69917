"""What every uploaded CSV is checked for before its rows are read: that it is UTF-8 text, and
which cells a spreadsheet would run as formulas. Shared by the ECM import (assurance) and the
bulk upload of services and people, so the kernel owns it and the domain apps import it."""

from __future__ import annotations

import re

#: Cells starting with these run as formulas when the file is opened in a spreadsheet, once the
#: spaces before them are stripped (as caregov stores the value). The full-width forms too: a
#: spreadsheet typed in with a Japanese or Chinese input method reads them as the plain ones.
FORMULA_STARTS = ("=", "+", "-", "@")
WIDE_FORMULA_STARTS = ("\uff1d", "\uff0b", "\uff0d", "\uff20")
#: Invisible characters str.strip() leaves, also skipped before looking for a formula start.
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
#: A cell that starts, after spaces and invisible characters, as a formula: its start is group 1.
FORMULA_CELL = re.compile("[\\s" + INVISIBLE + "]*([=+\\-@" + "".join(WIDE_FORMULA_STARTS) + "])")
#: Bytes from the start of a file that `not_text` looks at.
SNIFF_BYTES = 4096
#: Bytes that plain text hardly ever holds (all controls but tab, line feed, form feed, return and
#: escape).
CONTROL_BYTES = bytes([*range(0, 9), 11, *range(14, 27), *range(28, 32), 127])
SIGNATURES = (
    (b"PK\x03\x04", "a spreadsheet workbook or another zipped file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an older Excel workbook (.xls)"),
    (b"%PDF", "a PDF"),
)


def formula_start(cell: str) -> str | None:
    """The character that makes a spreadsheet run `cell` as a formula, or None."""
    match = FORMULA_CELL.match(cell)
    return match.group(1) if match else None


def not_text(head: bytes, *, what: str = "the CSV file the ECM exported") -> str | None:
    """Why a file starting with `head` cannot be read as UTF-8 text, or None when it can be.

    A UTF-16 file (with or without its byte-order mark) and a file that is not text at all are
    refused as a whole; a stray byte that is not UTF-8, or a NUL, is a problem of its row.
    """
    save_as = "save it as UTF-8 (in a spreadsheet: Save as, then CSV UTF-8) and upload it again."
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return f"This file is UTF-32; {save_as}"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"This file is UTF-16; {save_as}"
    sample = head[:SNIFF_BYTES]
    if len(sample) >= 4:
        even, odd = sample[0::2], sample[1::2]
        even_nuls, odd_nuls = even.count(0), odd.count(0)
        if (odd_nuls * 2 >= len(odd) and even_nuls * 10 <= len(even)) or (
            even_nuls * 2 >= len(even) and odd_nuls * 10 <= len(odd)
        ):
            return f"This file is UTF-16; {save_as}"
    for signature, kind in SIGNATURES:
        if head.startswith(signature):
            return f"This file is not text: it looks like {kind}. Save it as CSV UTF-8 and upload that."
    controls = len(sample) - len(sample.translate(None, CONTROL_BYTES))
    if controls > 8 and controls * 20 > len(sample):
        return f"This file is not text. Choose {what}, saved as CSV UTF-8, and upload that."
    return None
