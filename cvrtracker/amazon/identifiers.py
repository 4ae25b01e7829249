"""Amazon's identifiers as we accept them from users (URLs, filters, API queries)."""

import re

# Ten capital letters or digits (ISBN-10 books included).
ASIN = re.compile(r"^[A-Z0-9]{10}$")


def is_asin(value: str) -> bool:
    return bool(ASIN.match(value))
