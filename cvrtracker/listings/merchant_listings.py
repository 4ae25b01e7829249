"""Read GET_MERCHANT_LISTINGS_ALL_DATA, the one list of every SKU a seller has.

searchListingsItems pages through at most 1,000 SKUs ("The maximum number of
items (SKUs) that can be returned and paged through is 1000", the Listings
Items 2021-08-01 model), so the SKU universe comes from this report instead.

It is tab-separated text with a header line, and its columns differ between
accounts and over time: 27 columns ending at `fulfillment-channel`, then
`merchant-shipping-group`, `status`, B2B price columns and more have been seen
(shared/specs/sp-api-samples/SOURCE.md). Columns are therefore found by name;
only `seller-sku` is required. The text is UTF-8 on most marketplaces but
Windows-1252 has been seen on European ones, so both are read.
"""

from __future__ import annotations

from dataclasses import dataclass

REQUIRED_COLUMN = "seller-sku"
# product-id-type 1 means product-id is an ASIN (2 ISBN, 3 UPC, 4 EAN).
ASIN_ID_TYPE = "1"


class MerchantReportError(Exception):
    """The document is not a merchant listings report we can trust: nothing is stored."""


@dataclass(frozen=True, slots=True)
class MerchantListing:
    sku: str
    asin: str
    title: str
    # The report's own words: "Active", "Inactive", "Incomplete" ("" when absent).
    status: str
    # The merchant-fulfilled quantity; None for FBA rows (blank) or a missing column.
    quantity: int | None
    fulfillment_channel: str

    @property
    def is_active(self) -> bool:
        return self.status.strip().lower() == "active"


def merchant_listings_parse(document: bytes) -> list[MerchantListing]:
    """Every listing of the report, in SKU order, once per SKU.

    Raises MerchantReportError for a document that is not such a report (no
    header, no seller-sku column, a line with more values than the header has
    columns, a line without a SKU): the caller stores nothing of it.
    """
    text = _decode(document)
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return []
    header = [name.strip().lower() for name in lines[0].split("\t")]
    if REQUIRED_COLUMN not in header:
        raise MerchantReportError(
            f"the merchant listings report has no {REQUIRED_COLUMN} column "
            f"(columns: {', '.join(header[:8])}{'...' if len(header) > 8 else ''})"
        )
    column = {name: index for index, name in reversed(list(enumerate(header)))}
    by_sku: dict[str, MerchantListing] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) > len(header):
            if any(cell.strip() for cell in cells[len(header) :]):
                raise MerchantReportError(
                    f"line {number} of the merchant listings report has {len(cells)} values "
                    f"for {len(header)} columns"
                )
            cells = cells[: len(header)]
        # Trailing empty values are sometimes left out.
        cells += [""] * (len(header) - len(cells))

        def cell(name: str, cells: list[str] = cells) -> str:
            index = column.get(name)
            return cells[index].strip() if index is not None else ""

        sku = cell(REQUIRED_COLUMN)
        if not sku:
            raise MerchantReportError(f"line {number} of the merchant listings report has no SKU")
        asin = cell("asin1")
        if not asin and cell("product-id-type") == ASIN_ID_TYPE:
            asin = cell("product-id")
        quantity = cell("quantity")
        by_sku.setdefault(
            sku,
            MerchantListing(
                sku=sku,
                asin=asin,
                title=cell("item-name"),
                status=cell("status"),
                quantity=int(quantity) if quantity.isdigit() else None,
                fulfillment_channel=cell("fulfillment-channel"),
            ),
        )
    return [by_sku[sku] for sku in sorted(by_sku)]


def _decode(document: bytes) -> str:
    if b"\x00" in document[:4096]:
        raise MerchantReportError("the merchant listings report is binary, not text")
    try:
        return document.decode("utf-8-sig")
    except UnicodeDecodeError:
        return document.decode("cp1252", errors="replace")
