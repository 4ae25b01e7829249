"""The impact of one change as the pages, the API and the exports read it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

IMPROVED = "improved"
WORSENED = "worsened"
NO_CLEAR_EFFECT = "no_clear_effect"
NOT_ENOUGH_DATA = "not_enough_data"
VERDICT_LABELS = {
    IMPROVED: "Improved",
    WORSENED: "Worsened",
    NO_CLEAR_EFFECT: "No clear effect",
    NOT_ENOUGH_DATA: "Not enough data yet",
}


@dataclass(frozen=True)
class ImpactWindow:
    """A before or after window: marketplace days [start, end], the days kept in it
    (stock-out, lost-Buy-Box and pending days are left out) and its totals."""

    start: date
    end: date
    days: int
    sessions: int
    units: int

    @property
    def conversion_rate(self) -> float | None:
        return self.units / self.sessions if self.sessions else None


@dataclass(frozen=True)
class Impact:
    """The relative change in conversion a listing change caused, with its 95% interval.

    `lift`, `lift_low` and `lift_high` are fractions (0.12 is +12%), None when
    there is no estimate yet. `final` is False while the after window is still
    growing ("impact so far"). `ready_on` is the day a verdict is expected when
    the verdict is not_enough_data (None when no date can be promised).
    `units_per_month` is the estimated units a month gained (negative: lost) at the
    current traffic. `note` says in plain words how it was computed and what
    limits it (shortened windows, no account adjustment possible...).
    """

    verdict: str
    lift: float | None
    lift_low: float | None
    lift_high: float | None
    before: ImpactWindow | None
    after: ImpactWindow | None
    trend_adjusted: bool
    shortened: bool
    final: bool
    as_of: date
    ready_on: date | None
    units_per_month: float | None
    note: str

    @property
    def verdict_label(self) -> str:
        return VERDICT_LABELS[self.verdict]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return _dates_to_text(data)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Impact:
        data = dict(data)
        for name in ("before", "after"):
            if data.get(name):
                w = data[name]
                data[name] = ImpactWindow(
                    start=date.fromisoformat(w["start"]),
                    end=date.fromisoformat(w["end"]),
                    days=w["days"],
                    sessions=w["sessions"],
                    units=w["units"],
                )
        data["as_of"] = date.fromisoformat(data["as_of"])
        data["ready_on"] = date.fromisoformat(data["ready_on"]) if data.get("ready_on") else None
        return cls(**data)


def _dates_to_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _dates_to_text(v) for k, v in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return value
