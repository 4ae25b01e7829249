"""A word-level diff of two texts as HTML: what changed inside a bullet or a description.

Pure (no database): the texts are Amazon's and the seller's, untrusted, so every
piece is escaped before the <del>/<ins> markup is put around it.
"""

from __future__ import annotations

import difflib
import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Words, single punctuation marks and runs of whitespace: a changed comma marks the
# comma only, and the spaces between words match and stay unmarked.
TOKEN = re.compile(r"\w+|[^\w\s]|\s+")


def word_diff(before: str, after: str) -> SafeString:
    """`after` with the removed words of `before` in <del> and the new ones in <ins>."""
    old, new = TOKEN.findall(before or ""), TOKEN.findall(after or "")
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    parts: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        removed, added = "".join(old[i1:i2]), "".join(new[j1:j2])
        if op == "equal":
            parts.append(escape(added))
            continue
        if removed:
            parts.append(f"<del>{escape(removed)}</del>")
        if added:
            parts.append(f"<ins>{escape(added)}</ins>")
    # Safe: every text piece above went through escape(); only our tags are raw.
    return mark_safe("".join(parts))  # noqa: S308
