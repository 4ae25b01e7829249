"""listings_tracking_summary: one seller account's products by tracking state."""

from cvrtracker.listings.models import Listing
from cvrtracker.listings.selectors import listings_tracking_summary
from cvrtracker.test import BaseTestCase

from .helpers import CA, admit, item, items, make_connection


class TrackingSummaryTestCase(BaseTestCase):
    def test_it_counts_products_not_listings(self):
        connection = make_connection(self.team, "A1ALICE")
        admit(connection, items(4) + [item("SKU-0000-FBM", "B000000000"), item("NO-ASIN")])
        admit(
            connection,
            [item("SKU-0000", "B000000000", market=CA), item("NO-ASIN", market=CA)],
            market=CA,
        )
        Listing.objects.filter(sku="SKU-0001").update(tracking=Listing.Tracking.STOPPED)
        Listing.objects.filter(sku="SKU-0002").update(tracking=Listing.Tracking.OVER_LIMIT)
        admit(make_connection(self.charlies_team, "A3CHARLIE"), items(9))
        summary = listings_tracking_summary(connection=connection)
        # B000000000 (3 listings), B000000003 and NO-ASIN (2 marketplaces) are tracked.
        assert (summary.tracked, summary.over_limit, summary.stopped) == (3, 1, 1)
        assert summary.total == 5
