"""Log lines that user input cannot forge.

A log message may carry text a visitor chose (an email typed at log-in, a path, a
header). A newline in it would start what looks like a new, genuine log line; other
control characters can rewrite a terminal. SafeFormatter writes every such character
of the message as an escape (\\n, \\r, \\x1b...), so one record is always one line.
The traceback that follows an exception is ours and keeps its lines.
"""

from __future__ import annotations

import logging

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_control(text: str) -> str:
    """`text` with every control character (C0, DEL, C1, line and paragraph
    separators) written as an escape."""
    if text.isprintable():
        return text
    return "".join(
        ch
        if ch.isprintable()
        else _ESCAPES.get(ch) or f"\\x{ord(ch):02x}"
        if ord(ch) < 0x100
        else f"\\u{ord(ch):04x}"
        for ch in text
    )


class SafeFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = escape_control(record.message)
        return super().formatMessage(record)
