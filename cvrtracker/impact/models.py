"""The measured impact of one listing change on its product's conversion.

One row per ListingChange whose impact is computed (content and price changes
seen on the listing). Plaintext holds only what queries need: the change, the
verdict and when it was computed. The figures (lift, interval, windows, units a
month, the note) are derived from Amazon data and are one AES-256-GCM
ciphertext under the connection's data key (`payload_enc`).
"""

from __future__ import annotations

from django.db import models

from cvrtracker.lib.crypto import associated_data
from cvrtracker.listings.models import ListingChange


class ChangeImpact(models.Model):
    class Verdict(models.TextChoices):
        IMPROVED = "improved", "Improved"
        WORSENED = "worsened", "Worsened"
        NO_CLEAR_EFFECT = "no_clear_effect", "No clear effect"
        NOT_ENOUGH_DATA = "not_enough_data", "Not enough data yet"

    TABLE = "impact_changeimpact"

    change = models.OneToOneField(ListingChange, on_delete=models.CASCADE, related_name="impact")
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    # The last final (not pending) marketplace day the figures use.
    as_of = models.DateField()
    computed_at = models.DateTimeField()
    # The encrypted Impact (see selectors.Impact), as JSON.
    payload_enc = models.BinaryField(editable=False)

    class Meta:
        indexes = [models.Index(fields=["verdict"], name="impact_verdict")]

    def __str__(self) -> str:
        return f"{self.change_id} {self.verdict}"

    def aad(self) -> bytes:
        return associated_data(self.TABLE, str(self.change.code), "payload")
