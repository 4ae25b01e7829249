"""Locate and load the official SP-API models copied under shared/specs/sp-api.

Everything that must match Amazon (paths, usage plans, response schemas) is read
from these files rather than retyped, so the simulator and its tests cannot
drift from the models silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings

# The operations the simulator serves, by model file.
IMPLEMENTED: dict[str, tuple[str, ...]] = {
    "sellers_v1.json": ("getMarketplaceParticipations",),
    "listingsItems_2021-08-01.json": ("getListingsItem", "searchListingsItems"),
    "catalogItems_2022-04-01.json": ("getCatalogItem", "searchCatalogItems"),
    "fbaInventory_v1.json": ("getInventorySummaries",),
    "orders_2026-01-01.json": ("searchOrders", "getOrder"),
    "reports_2021-06-30.json": (
        "createReport",
        "getReport",
        "getReports",
        "cancelReport",
        "getReportDocument",
    ),
    "dataKiosk_2023-11-15.json": (
        "createQuery",
        "getQueries",
        "getQuery",
        "cancelQuery",
        "getDocument",
    ),
}

# A usage-plan table row in an operation description: "| 0.0167 | 15 |".
_USAGE_PLAN_ROW = re.compile(r"\|\s*([0-9]*\.?[0-9]+)\s*\|\s*([0-9]+)\s*\|")


@dataclass(frozen=True)
class Operation:
    operation_id: str
    model_file: str
    method: str
    path: str
    rate: float
    burst: int
    spec: dict


def specs_dir() -> Path:
    """The sp-api models folder under settings.SPECS_DIR."""
    return Path(settings.SPECS_DIR) / "sp-api"


class ModelsMissing(Exception):
    """The SP-API models the simulator answers from are not where settings.SPECS_DIR says."""


def check_models() -> None:
    """Load every model the simulator serves from, or raise ModelsMissing saying what and where.

    Without them every SP-API call would fail inside the view, so a simulator that cannot
    read them must not start.
    """
    folder = specs_dir()
    try:
        operations()
    except (OSError, ValueError, LookupError) as error:
        raise ModelsMissing(
            f"cannot read the SP-API models under {folder} ({error}); set SPECS_DIR to the "
            "folder that holds sp-api/ (the official models, shared/specs)"
        ) from error


@cache
def load_model(model_file: str) -> dict:
    return json.loads((specs_dir() / model_file).read_text())


@cache
def load_report_schema(report_type: str) -> dict:
    return json.loads((specs_dir() / f"report-schema_{report_type}.json").read_text())


def parse_usage_plan(description: str) -> tuple[float, int]:
    """Return (rate, burst) from the first row of an operation's "Usage Plan" table."""
    match = _USAGE_PLAN_ROW.search(description)
    if match is None:
        raise ValueError("no usage plan table in the operation description")
    return float(match.group(1)), int(match.group(2))


@cache
def operations() -> dict[str, Operation]:
    """Every implemented operation by operationId, with its rate and burst from the model."""
    found: dict[str, Operation] = {}
    for model_file, wanted in IMPLEMENTED.items():
        model = load_model(model_file)
        for path, item in model["paths"].items():
            for method, spec in item.items():
                if not isinstance(spec, dict) or spec.get("operationId") not in wanted:
                    continue
                rate, burst = parse_usage_plan(spec.get("description", ""))
                found[spec["operationId"]] = Operation(
                    operation_id=spec["operationId"],
                    model_file=model_file,
                    method=method.upper(),
                    path=path,
                    rate=rate,
                    burst=burst,
                    spec=spec,
                )
    missing = {op for ops in IMPLEMENTED.values() for op in ops} - set(found)
    if missing:
        raise LookupError(f"operations missing from the models: {sorted(missing)}")
    return found
