"""The validator itself: strict where the model lists properties, faithful to Amazon's samples."""

from __future__ import annotations

import json
import re

import pytest

from cvrtracker.simulator import contract
from cvrtracker.simulator.specs import load_model, operations, parse_usage_plan, specs_dir

SAMPLES = specs_dir().parent / "sp-api-samples"

# The rate/burst pairs of sp-api.md §2, which was written from the same models.
EXPECTED_PLANS = {
    "getMarketplaceParticipations": (0.016, 15),
    "getListingsItem": (5, 10),
    "searchListingsItems": (5, 5),
    "getCatalogItem": (2, 2),
    "searchCatalogItems": (2, 2),
    "getInventorySummaries": (2, 2),
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "createReport": (0.0167, 15),
    "getReport": (2, 15),
    "getReports": (0.0222, 10),
    "cancelReport": (0.0222, 10),
    "getReportDocument": (0.0167, 15),
    # Data Kiosk 2023-11-15 (dataKiosk_2023-11-15.json)
    "createQuery": (0.0167, 15),
    "getQueries": (0.0222, 10),
    "getQuery": (2, 15),
    "cancelQuery": (0.0222, 10),
    "getDocument": (0.0167, 15),
}


def test_it_reads_every_usage_plan_from_the_models():
    plans = {op_id: (op.rate, op.burst) for op_id, op in operations().items()}
    assert plans == EXPECTED_PLANS


def test_it_refuses_a_description_without_usage_plan():
    with pytest.raises(ValueError):
        parse_usage_plan("Returns things. No table here.")


def test_it_rejects_a_field_not_in_the_model():
    report = {
        "reportId": "1",
        "reportType": "GET_SALES_AND_TRAFFIC_REPORT",
        "createdTime": "2026-11-29T12:00:00Z",
        "processingStatus": "DONE",
    }
    contract.validate_response("getReport", 200, report)
    with pytest.raises(contract.ContractError, match="sellerId"):
        contract.validate_response("getReport", 200, {**report, "sellerId": "A1"})


def test_it_rejects_an_invented_field_deep_in_a_listing():
    item = {
        "sku": "S",
        "offers": [
            {
                "marketplaceId": "M",
                "offerType": "B2C",
                "price": {"currencyCode": "USD", "amount": "1.00"},
            }
        ],
    }
    contract.validate_response("getListingsItem", 200, item)
    item["offers"][0]["price"]["currency"] = "USD"
    with pytest.raises(contract.ContractError, match="currency"):
        contract.validate_response("getListingsItem", 200, item)


def test_it_keeps_open_objects_open():
    contract.validate_response(
        "getListingsItem", 200, {"sku": "S", "attributes": {"anything_at_all": [{"value": 1}]}}
    )


def test_it_rejects_wrong_types_and_bad_dates():
    with pytest.raises(contract.ContractError, match="createdTime"):
        contract.validate_response(
            "getReport",
            200,
            {
                "reportId": "1",
                "reportType": "X",
                "createdTime": "yesterday",
                "processingStatus": "DONE",
            },
        )
    with pytest.raises(contract.ContractError, match="processingStatus"):
        contract.validate_response(
            "getReport",
            200,
            {
                "reportId": "1",
                "reportType": "X",
                "createdTime": "2026-01-01T00:00:00Z",
                "processingStatus": "FINISHED",
            },
        )


def test_it_accepts_captured_payloads_from_other_projects():
    report = json.loads((SAMPLES / "amzn-samples_reports_getReport.json").read_text())
    contract.validate_response("getReport", 200, report)
    doc = json.loads((SAMPLES / "amzn-samples_reports_getReportDocument.json").read_text())
    contract.validate_response("getReportDocument", 200, doc)
    denied = json.loads((SAMPLES / "eolabs_error_403_unauthorized_missing_token.json").read_text())
    contract.validate_response("getReport", 403, denied)
    snt = json.loads((SAMPLES / "airbyte_sales_and_traffic_report.json").read_text())
    contract.validate_report_document("GET_SALES_AND_TRAFFIC_REPORT", snt)


def test_it_rejects_a_report_document_field_not_in_the_schema():
    snt = json.loads((SAMPLES / "airbyte_sales_and_traffic_report.json").read_text())
    snt["salesAndTrafficByAsin"][0]["date"] = "2021-06-11"
    with pytest.raises(contract.ContractError, match="date"):
        contract.validate_report_document("GET_SALES_AND_TRAFFIC_REPORT", snt)


def test_it_knows_which_operation_serves_a_path():
    assert contract.operation_for("GET", "/reports/2021-06-30/reports?x=1") == "getReports"
    assert contract.operation_for("POST", "/reports/2021-06-30/reports") == "createReport"
    assert contract.operation_for("DELETE", "/reports/2021-06-30/reports/9") == "cancelReport"
    assert contract.operation_for("GET", "/catalog/2022-04-01/items/B0X") == "getCatalogItem"
    assert contract.operation_for("GET", "/_sim/") is None


def test_the_models_say_what_the_table_says():
    # Guards the regex: each implemented operation's description has exactly the rows we parse.
    for op in operations().values():
        rows = re.findall(r"\|\s*([0-9.]+)\s*\|\s*([0-9]+)\s*\|", op.spec["description"])
        assert rows, op.operation_id
        assert load_model(op.model_file)["paths"][op.path][op.method.lower()] is op.spec
