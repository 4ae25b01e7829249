from urllib.parse import parse_qs, urlsplit

from cvrtracker.test import BaseTestCase


class ConnectTestCase(BaseTestCase):
    def test_it_redirects_to_the_consent_page_with_a_session_state(self):
        self.client.force_login(self.alice)
        response = self.client.get("/amazon/connect/EU/")
        assert response.status_code == 302
        assert response["Referrer-Policy"] == "no-referrer"
        location = urlsplit(response["Location"])
        assert location.path == "/apps/authorize/consent"
        query = parse_qs(location.query)
        pending = self.client.session["amazon_connect"]
        assert query["state"] == [pending["state"]] and len(pending["state"]) >= 40
        assert pending["region"] == "EU" and pending["team"] == str(self.team.code)
        assert query["application_id"] == ["amzn1.sp.solution.simulator"]
        assert query["version"] == ["beta"]
        assert query["redirect_uri"] == ["http://127.0.0.1:8000/amazon/callback/"]

    def test_each_attempt_gets_a_new_state(self):
        self.client.force_login(self.alice)
        self.client.get("/amazon/connect/NA/")
        first = self.client.session["amazon_connect"]["state"]
        self.client.get("/amazon/connect/NA/")
        assert self.client.session["amazon_connect"]["state"] != first

    def test_it_rejects_unknown_regions(self):
        self.client.force_login(self.alice)
        assert self.client.get("/amazon/connect/XX/").status_code == 404

    def test_it_requires_a_verified_email(self):
        self.alice.email_verified_at = None
        self.alice.save()
        self.client.force_login(self.alice)
        response = self.client.get("/amazon/connect/NA/", follow=True)
        self.assertContains(response, "Confirm your email address")
        assert "amazon_connect" not in self.client.session

    def test_members_cannot_connect(self):
        self.client.force_login(self.bob)
        assert self.client.get("/amazon/connect/NA/").status_code == 404

    def test_it_requires_login(self):
        response = self.client.get("/amazon/connect/NA/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
