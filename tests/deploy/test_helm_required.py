"""What would install silently and crash-loop stops `helm install` instead, with a message.

Every credentials method the chart supports, each key it needs, the URL, and the
listener's TLS Secret and basic-auth pair. Demo mode needs none of them. An existing
Secret cannot be read at render time: the NOTES name the keys it must hold.
"""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest

from tests.deploy.chart import MINIMAL, notes, render

pytestmark = pytest.mark.slow  # renders the chart once per case

URL = MINIMAL["config"]
NEEDED = {
    "client_credentials": {"clientId": "id-1", "clientSecret": "s3cret"},
    "password": {"username": "ops@example.com", "password": "pa55"},
    "bearer_token": {"bearerToken": "t0ken"},
}
CASES = [(method, missing) for method, keys in NEEDED.items() for missing in keys]


def refused(values: dict[str, Any]) -> str:
    """Return the render error ``values`` get; fail the test if the chart renders them."""
    with pytest.raises(helm.HelmRenderError) as caught:
        render(values)
    return str(caught.value)


class TestRefusedAtRenderTime:
    """Missing settings are a render error naming them."""

    @pytest.mark.parametrize(("method", "missing"), CASES, ids=[f"{m}-{k}" for m, k in CASES])
    @pytest.mark.parametrize("empty", [None, ""], ids=["unset", "empty"])
    def test_each_missing_credential_of_each_method_is_named(
        self, method: str, missing: str, empty: str | None
    ) -> None:
        """Every key the method needs, left out or empty, stops the render and is named."""
        credentials: dict[str, Any] = {"method": method, **NEEDED[method]}
        if empty is None:
            del credentials[missing]
        else:
            credentials[missing] = empty
        message = refused({"config": URL, "credentials": credentials})
        assert f"credentials.{missing}" in message
        assert f"credentials.method={method}" in message

    def test_defaults_are_refused_for_want_of_a_url(self) -> None:
        """`helm install` with no values at all says what to set."""
        assert "config.api.url is required" in refused({})

    def test_tls_without_a_secret_is_refused(self) -> None:
        """web.tls.enabled needs the Secret holding the certificate."""
        assert "web.tls.secretName is required" in refused({**MINIMAL, "web": {"tls": {"enabled": True}}})

    @pytest.mark.parametrize("missing", ["username", "password"])
    def test_basic_auth_without_a_pair_is_refused(self, missing: str) -> None:
        """web.basicAuth.enabled needs both the user and the password (or an existing Secret)."""
        pair = {"username": "prometheus", "password": "scrape-pass"}
        del pair[missing]
        message = refused({**MINIMAL, "web": {"basicAuth": {"enabled": True, **pair}}})
        assert "web.basicAuth.username and web.basicAuth.password are required" in message


class TestAccepted:
    """Demo mode and existing Secrets render; the NOTES say what an existing Secret must hold."""

    def test_demo_needs_neither_url_nor_credentials(self) -> None:
        """demo=true renders without a URL, credentials or Secret."""
        assert not [item for item in render({"demo": True}) if item["kind"] == "Secret"]

    @pytest.mark.parametrize("method", list(NEEDED))
    def test_notes_name_the_keys_an_existing_secret_must_hold(self, method: str) -> None:
        """The chart cannot read the Secret, so it warns with the exact key names."""
        keys = {
            "clientId": "id",
            "clientSecret": "secret",
            "username": "user",
            "password": "pass",
            "bearerToken": "tok",
        }
        values = {"config": URL, "credentials": {"method": method, "existingSecret": "mine", "keys": keys}}
        text = notes(values)
        assert "WARNING: the credentials come from Secret mine" in text
        assert ", ".join(keys[key] for key in NEEDED[method]) in text

    def test_notes_warn_about_an_existing_scrape_secret(self) -> None:
        """The basic-auth Secret must hold both keys wherever a monitor reads it."""
        web = {
            "basicAuth": {
                "enabled": True,
                "existingSecret": "scrape",
                "keys": {"username": "u", "password": "p"},
            }
        }
        text = notes({**MINIMAL, "web": web})
        assert "Secret scrape: it must hold the keys\nu and p" in text
