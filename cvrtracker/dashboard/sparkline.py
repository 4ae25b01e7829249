"""A row's small trend line as SVG polyline points, drawn on the server.

No script and no style attribute: the page's CSS colours the line, and a gap
(a bucket without sessions) splits it, so an unknown value is never drawn as zero.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 100, 24, 2


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    # One "x,y x,y ..." string per run of known values.
    segments: list[str]
    label: str


def sparkline(values: list[float | None], *, what: str = "Conversion") -> Sparkline | None:
    """The polyline segments of `values` scaled into a WIDTH × HEIGHT box (None: no known value)."""
    known = [v for v in values if v is not None]
    if not known:
        return None
    low, high = min(known), max(known)
    span = high - low
    step = (WIDTH - 2 * PAD) / max(1, len(values) - 1)
    segments, current = [], []
    for i, value in enumerate(values):
        if value is None:
            if current:
                segments.append(current)
            current = []
            continue
        x = PAD + i * step
        # A flat line (every bucket equal) is drawn across the middle.
        y = HEIGHT / 2 if not span else HEIGHT - PAD - (value - low) / span * (HEIGHT - 2 * PAD)
        current.append((x, y))
    if current:
        segments.append(current)
    texts = []
    for points in segments:
        if len(points) == 1:  # a lone known bucket: a short dash, so it shows
            ((x, y),) = points
            points = [(max(0.0, x - 1.5), y), (min(float(WIDTH), x + 1.5), y)]
        texts.append(" ".join(f"{x:.1f},{y:.1f}" for x, y in points))
    label = f"{what} trend from {known[0]:.2f}% to {known[-1]:.2f}%"
    return Sparkline(width=WIDTH, height=HEIGHT, segments=texts, label=label)
