"""Nothing Amazon reported is readable in the metric tables without the connection's key."""

from __future__ import annotations

import gzip
import json

from cvrtracker.metrics.report import parse_sales_traffic
from cvrtracker.metrics.services import metrics_ingest_day
from cvrtracker.test import BaseTestCase

from .helpers import MARKET, SIM_DAYS, make_connection, raw_table_bytes, report_json, sim_payloads

CANARY_SESSIONS = 0x5A17C0DE  # an int32 with a byte pattern no other value has
CANARY_SALES = "7913577.31"


class EncryptionAtRestTestCase(BaseTestCase):
    def test_metric_values_never_appear_in_plaintext(self):
        connection = make_connection(self.team, self.alice)
        doc = report_json(sim_payloads()["days"][SIM_DAYS[0]])
        row = doc["salesAndTrafficByAsin"][0]
        row["trafficByAsin"]["sessions"] = CANARY_SESSIONS
        row["salesByAsin"]["orderedProductSales"]["amount"] = float(CANARY_SALES)
        metrics_ingest_day(
            connection=connection,
            marketplace_id=MARKET,
            day=SIM_DAYS[0],
            report=gzip.compress(json.dumps(doc).encode()),
        )
        stored = raw_table_bytes("metrics_metricblock")
        packed_sessions = CANARY_SESSIONS.to_bytes(4, "little")
        packed_sales = (791357731).to_bytes(8, "little")
        for secret in (packed_sessions, packed_sales, str(CANARY_SESSIONS).encode()):
            assert secret not in stored
        report = parse_sales_traffic(doc)
        # ASINs are identifiers and may be plaintext (the block's row index).
        assert report.by_asin[0].child_asin.encode() in stored
