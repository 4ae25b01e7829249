"""blocks_one_at_a_time: one block at a time, and (PostgreSQL, with keys and release) each
block's ciphertext read in pieces and decrypted as they arrive."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection as db

from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.metrics import services
from cvrtracker.metrics.keys import ConnectionKeys
from cvrtracker.metrics.models import MetricBlock
from cvrtracker.metrics.services import block_data, blocks_one_at_a_time, metrics_ingest_days
from cvrtracker.test import BaseTestCase

from .helpers import MARKET, make_connection, sim_payloads


class BlocksOneAtATimeTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)
        metrics_ingest_days(
            connection=self.connection, marketplace_id=MARKET, reports=sim_payloads()["days"]
        )
        self.keys = ConnectionKeys(self.connection)
        self.blocks = MetricBlock.objects.filter(connection=self.connection).order_by(
            "granularity", "month", "shard"
        )

    def read(self, **kwargs) -> list[tuple]:
        found = []
        for block in blocks_one_at_a_time(self.blocks, **kwargs):
            data = block_data(block, self.keys)
            found.append(
                (
                    block.pk,
                    block.month,
                    block.shard,
                    block.rows,
                    block.fetched,
                    data.keys,
                    data.currency,
                    data.ints.tolist(),
                    data.sales.tolist(),
                    data.flags.tolist(),
                )
            )
        return found

    def test_pieces_read_the_same_blocks_as_a_whole_read(self):
        whole = self.read()
        assert len(whole) == self.blocks.count() > 1
        assert any(np.asarray(row[7]).any() for row in whole)
        # Small pieces: every block's ciphertext comes in many of them.
        sizes = [len(b) for b in self.blocks.values_list("values_enc", flat=True)]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(services, "PIECE_BYTES", 100)
            assert max(sizes) > 300
            assert self.read(keys=self.keys, release=True) == whole
        # A block without values yet reads as empty, in pieces too.
        empty = MetricBlock.objects.create(
            connection=self.connection,
            marketplace_id=MARKET,
            granularity=MetricBlock.Granularity.ASIN,
            month=whole[-1][1].replace(year=2020),
            shard=0,
        )
        read = {row[0]: row for row in self.read(keys=self.keys, release=True)}
        assert read[empty.pk][5] == [] and read[empty.pk][7] == [[] for _ in range(6)]

    @pytest.mark.skipif(db.vendor != "postgresql", reason="pieces are read on PostgreSQL only")
    def test_pieces_are_decrypted_as_they_arrive_and_the_ciphertext_not_kept(self):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(services, "PIECE_BYTES", 100)
            for block in blocks_one_at_a_time(self.blocks, keys=self.keys, release=True):
                assert block.values_enc == b""
                assert block.plaintext is not None

    def test_a_tampered_block_read_in_pieces_is_rejected(self):
        block = self.blocks.first()
        blob = bytearray(block.values_enc)
        blob[len(blob) // 2] ^= 1
        MetricBlock.objects.filter(pk=block.pk).update(values_enc=bytes(blob))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(services, "PIECE_BYTES", 100)
            with pytest.raises(DecryptionError):
                self.read(keys=self.keys, release=True)

    def test_a_block_moved_to_other_rows_is_rejected_in_pieces(self):
        block = self.blocks.filter(granularity=MetricBlock.Granularity.ASIN).first()
        rows = [list(row) for row in block.rows]
        rows[0][1] = "B0ANOTHER0"  # another parent: the values are bound to the row index
        MetricBlock.objects.filter(pk=block.pk).update(rows=rows)
        with pytest.raises(DecryptionError):
            self.read(keys=self.keys, release=True)
