"""Replay the models' own x-amzn-api-sandbox examples against the simulator.

Each static example is sent as a request (path, query and body from its
parameters; required parameters it leaves out are filled with this world's
values, and path ids that name the sandbox's data stay as they are). Every
answer must be a status the model documents and match its schema, and examples
of invalid input must be refused.
"""

from __future__ import annotations

import pytest

from cvrtracker.simulator import contract
from cvrtracker.simulator.specs import operations
from cvrtracker.simulator.testing import SimClient

from .conftest import MARKET


def _examples() -> list[tuple[str, int, dict, int]]:
    found = []
    for op in operations().values():
        for status, response in op.spec["responses"].items():
            for n, example in enumerate(
                (response.get("x-amzn-api-sandbox") or {}).get("static", [])
            ):
                found.append((op.operation_id, int(status), example, n))
    return found


EXAMPLES = _examples()


def test_the_models_have_examples_for_most_operations():
    covered = {op for op, *_ in EXAMPLES}
    # FBA Inventory uses a dynamic sandbox with no static examples; every other one has some.
    assert covered == set(operations()) - {"getInventorySummaries"}


WITH_ANSWERS = [(op, s, e, n) for op, s, e, n in EXAMPLES if "response" in e]


@pytest.mark.parametrize(
    "op_id, status, example",
    [(op, s, e) for op, s, e, _ in WITH_ANSWERS],
    ids=[f"{op}-{s}-{n}" for op, s, _, n in WITH_ANSWERS],
)
def test_amazon_example_answers_pass_the_strict_validator(op_id, status, example):
    contract.validate_response(op_id, status, example["response"])


def _fill(client: SimClient, token: str, op_id: str, given: dict) -> dict:
    """Values for required parameters that the example leaves out, from this world."""
    world = client.server.world
    seller = world.sellers[0]
    product = seller.products[0]
    values: dict = {}
    for param in operations()[op_id].spec.get("parameters", []):
        name = param.get("name")
        if name in given or not param.get("required"):
            continue
        if name == "sellerId":
            values[name] = seller.id
        elif name == "sku":
            values[name] = product.sku
        elif name == "asin":
            values[name] = product.asin
        elif name == "marketplaceIds":
            values[name] = [MARKET]
        elif name == "granularityType":
            values[name] = "Marketplace"
        elif name == "granularityId":
            values[name] = MARKET
        elif name in ("reportId", "reportDocumentId", "orderId"):
            values[name] = "sandbox-does-not-exist"
        elif name == "body":
            values[name] = {}
    return values


@pytest.mark.parametrize(
    "op_id, status, example",
    [(o, s, e) for o, s, e, _ in EXAMPLES],
    ids=[f"{op}-{s}-{n}" for op, s, _, n in EXAMPLES],
)
def test_the_simulator_answers_each_example_request_as_the_model_says(
    client, token, op_id, status, example
):
    op = operations()[op_id]
    given = {k: v.get("value") for k, v in example["request"]["parameters"].items()}
    params = {**given, **_fill(client, token, op_id, given)}
    if "sellerId" in params:
        # The seller comes from the token; the example's placeholder id is not ours.
        params["sellerId"] = client.server.world.sellers[0].id
    locations = {p["name"]: p["in"] for p in op.spec.get("parameters", []) if "name" in p}
    path = op.path
    query, body = {}, None
    for name, value in params.items():
        where = locations.get(name, "query")
        if where == "path":
            path = path.replace("{" + name + "}", str(value))
        elif where == "body":
            body = value
        elif value is not None:
            query[name] = value
    answer = client.request(
        op.method, path, params=query, token=token, json_body=body if op.method == "POST" else None
    )
    # SimClient has already validated the answer against the model; check the status too.
    assert str(answer.status) in op.spec["responses"]
    if status == 400:
        assert 400 <= answer.status < 500
