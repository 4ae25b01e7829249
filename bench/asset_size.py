"""Benchmark: compressed size of the dashboard pages' JavaScript and CSS.

    .venv/bin/python bench/asset_size.py [--page overview ...]

No database. Prints gzip (level 9) and brotli (quality 11, when the brotli module is
installed) sizes of:
- the project's own assets, every static/js/*.js and static/css/*.css (what we write);
- per dashboard page, every script and stylesheet the page loads: read from its template
  and the templates it extends or includes (`{% static '...' %}` of .js and .css files),
  vendor files (static/vendor, built by `make`) counted apart from our own.
Target (issue 10, point 9): the pages' own JavaScript and CSS under 150 KB compressed.
A page whose template does not exist yet is reported as not built.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
TEMPLATES = ROOT / "templates"
PAGES = {
    "overview": "dashboard/overview.html",
    "table": "dashboard/products.html",
    "product": "dashboard/product.html",
}
TARGET = 150 * 1024

try:
    import brotli
except ImportError:  # the figure is then gzip only
    brotli = None

STATIC_RE = re.compile(r"""\{%\s*static\s+['"]([^'"]+\.(?:js|css))['"]\s*%\}""")
LINK_RE = re.compile(r"""\{%\s*(?:extends|include)\s+['"]([^'"]+)['"]""")


def sizes(path: Path) -> tuple[int, int, int | None]:
    raw = path.read_bytes()
    gz = len(gzip.compress(raw, compresslevel=9, mtime=0))
    br = len(brotli.compress(raw, quality=11)) if brotli else None
    return len(raw), gz, br


def assets_of(template: str, seen: set[str] | None = None) -> list[str]:
    """Static .js/.css paths a template loads, through extends and include, in order."""
    seen = seen if seen is not None else set()
    if template in seen:
        return []
    seen.add(template)
    path = TEMPLATES / template
    if not path.exists():
        return []
    text = path.read_text()
    found: list[str] = []
    for link in LINK_RE.findall(text):
        found += [a for a in assets_of(link, seen) if a not in found]
    found += [a for a in STATIC_RE.findall(text) if a not in found]
    return found


def kb(n: int | None) -> str:
    return "       -" if n is None else f"{n / 1024:8.1f}"


def table(title: str, files: list[str]) -> tuple[int, int, int | None]:
    print(f"\n{title}")
    print(f"  {'file':<40}{'raw KB':>8}{'gzip KB':>9}{'brotli KB':>10}")
    total = [0, 0, 0 if brotli else None]
    for name in files:
        path = STATIC / name
        if not path.exists():
            print(f"  {name:<40} missing (run make)")
            continue
        raw, gz, br = sizes(path)
        total[0] += raw
        total[1] += gz
        if br is not None:
            total[2] += br
        print(f"  {name:<40}{kb(raw)}{kb(gz)} {kb(br)}")
    print(f"  {'total':<40}{kb(total[0])}{kb(total[1])} {kb(total[2])}")
    return total[0], total[1], total[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page", action="append", choices=sorted(PAGES))
    args = parser.parse_args()
    own = sorted(
        str(p.relative_to(STATIC))
        for pattern in ("js/*.js", "css/*.css")
        for p in STATIC.glob(pattern)
    )
    print(f"compression: gzip -9{', brotli 11' if brotli else ' (brotli not installed)'}")
    _, gz, br = table("the project's own JavaScript and CSS (static/js, static/css)", own)
    best = br if br is not None else gz
    verdict = "met" if best < TARGET else "NOT met"
    print(f"  own assets {best / 1024:.1f} KB compressed: target < 150 KB {verdict}")
    for page in args.page or list(PAGES):
        template = PAGES[page]
        if not (TEMPLATES / template).exists():
            print(f"\n{page}: not built (no templates/{template})")
            continue
        files = assets_of(template)
        mine = [f for f in files if not f.startswith("vendor/")]
        vendor = [f for f in files if f.startswith("vendor/")]
        _, gz_own, br_own = table(f"{page} ({template}): its own files", mine)
        _, gz_all, br_all = table(f"{page}: with the vendor files it loads", mine + vendor)
        own_best = br_own if br_own is not None else gz_own
        print(
            f"  {page}: own {own_best / 1024:.1f} KB, with vendor "
            f"{(br_all if br_all is not None else gz_all) / 1024:.1f} KB compressed; "
            f"own < 150 KB {'met' if own_best < TARGET else 'NOT met'}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
