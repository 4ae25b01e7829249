"""The demo's product images: relayed from the simulator, never in production."""

from __future__ import annotations

import os
import subprocess
import sys

from django.urls import reverse

from cvrtracker.amazon.images import image_src
from cvrtracker.listings.models import ListingChange
from cvrtracker.simulator.testing import running_simulator
from cvrtracker.test import BaseTestCase

from .product_helpers import ASIN, US, admit, change, connect, store_days


class SimulatorImageTests(BaseTestCase):
    def test_the_demo_relays_the_simulators_images_under_its_own_ca(self):
        with (
            running_simulator(asins=5) as sim,
            self.settings(AMAZON_SIMULATOR_ORIGIN=sim.base_url, AMAZON_CA_FILE=str(sim.ca_path)),
        ):
            link = f"{sim.base_url}/images/I/41abcDEF12.jpg"
            src = image_src(link)
            assert src == reverse("amazon:simulator_image", args=["41abcDEF12"])
            self.client.force_login(self.bob)
            response = self.client.get(src)
            assert response.status_code == 200
            assert response["Content-Type"] == "image/png"
            assert response.content.startswith(b"\x89PNG")

    def test_the_product_pages_change_images_go_through_the_relay_too(self):
        origin = "https://127.0.0.1:8123"
        connection = connect(self.team)
        _, end = store_days(connection)
        listing = admit(connection)
        change(
            connection,
            field=ListingChange.Field.MAIN_IMAGE,
            day=end,
            listing=listing,
            before=f"{origin}/images/I/old1.jpg",
            after="https://m.media-amazon.com/I/n.jpg",
        )
        self.client.force_login(self.alice)
        with self.settings(AMAZON_SIMULATOR_ORIGIN=origin):
            url = reverse("dashboard:product", args=[connection.code, US, ASIN])
            response = self.client.get(url)
        relay = reverse("amazon:simulator_image", args=["old1"])
        self.assertContains(response, f'src="{relay}"')
        self.assertContains(response, 'src="https://m.media-amazon.com/I/n.jpg"')
        self.assertNotContains(response, f'src="{origin}')

    def test_production_neither_rewrites_nor_relays(self):
        with self.settings(
            AMAZON_PRODUCTION=True, AMAZON_SIMULATOR_ORIGIN="https://127.0.0.1:8100"
        ):
            link = "https://127.0.0.1:8100/images/I/41abcDEF12.jpg"
            assert image_src(link) == link
            self.client.force_login(self.bob)
            url = reverse("amazon:simulator_image", args=["41abcDEF12"])
            assert self.client.get(url).status_code == 404

    def test_only_https_links_load_otherwise(self):
        with self.settings(AMAZON_SIMULATOR_ORIGIN=""):
            assert image_src("https://m.media-amazon.com/images/I/x.jpg").startswith("https://")
            assert image_src("http://example.com/x.jpg") == ""
            assert image_src("javascript:alert(1)") == ""

    def test_the_setting_is_empty_in_production(self):
        def origin(**env) -> str:
            code = "from django.conf import settings; print(settings.AMAZON_SIMULATOR_ORIGIN)"
            run = subprocess.run(
                [sys.executable, "-c", f"import django; django.setup(); {code}"],
                env={
                    **os.environ,
                    "DJANGO_SETTINGS_MODULE": "cvrtracker.settings",
                    **env,
                },
                capture_output=True,
                text=True,
                check=True,
            )
            return run.stdout.strip()

        assert origin(AMAZON_PRODUCTION="0", SIM_PORT="8123") == "https://127.0.0.1:8123"
        assert origin(AMAZON_PRODUCTION="1", SECRET_KEY="x" * 50) == ""
