"""The token endpoint and bearer-token checks on the Task Manager endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .helpers import Api

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator import RunningSimulator

VIEWER = "urn:acronis.com::task_manager::viewer"


class TestGrants:
    """client_credentials and password grants."""

    def test_password_grant_issues_a_working_token(self, api: Api, simulator: RunningSimulator) -> None:
        """grant_type=password with the configured user returns a token the API accepts."""
        form = {"grant_type": "password", "username": "demo-user", "password": "demo-password"}
        reply = api.http.post("/api/2/idp/token", data=form)
        assert reply.status_code == 200
        token = reply.json()["access_token"]
        assert api.get("/tasks", [("lod", "count")], token=token).status_code == 200
        assert simulator.config.username == "demo-user"

    def test_bad_password_is_401(self, api: Api) -> None:
        """A wrong password is refused with 401 and a JSON error body."""
        form = {"grant_type": "password", "username": "demo-user", "password": "nope"}
        reply = api.http.post("/api/2/idp/token", data=form)
        assert reply.status_code == 401
        assert reply.json()["error"] == "invalid_grant"

    def test_missing_basic_auth_is_401(self, api: Api) -> None:
        """client_credentials without HTTP Basic credentials is refused."""
        reply = api.http.post("/api/2/idp/token", data={"grant_type": "client_credentials"})
        assert reply.status_code == 401

    def test_unknown_grant_type_is_400(self, api: Api) -> None:
        """An unsupported grant_type is a 400."""
        assert api.token_response(grant_type="implicit").status_code == 400

    def test_token_carries_task_manager_scopes(self, api: Api) -> None:
        """The reply lists the viewer scope the GET endpoints need."""
        assert VIEWER in api.token_response().json()["scope"].split()

    def test_token_lifetime_is_configurable(self, simulator_factory: Callable[..., RunningSimulator]) -> None:
        """token_lifetime sets expires_on relative to the simulator clock."""
        sim = simulator_factory(token_lifetime=60.0)
        client = Api(sim)
        assert client.token_response().json()["expires_on"] == int(sim.clock.now() + 60)
        client.close()


class TestTenantScope:
    """scope=urn:acronis.com:tenant-id:<uuid> narrows what a token sees."""

    def test_tenant_scoped_token_sees_only_its_subtree(self, api: Api, simulator: RunningSimulator) -> None:
        """Every item a tenant-scoped token lists belongs to that tenant or a sub-tenant."""
        locators = [item["tenant"]["locator"] for item in api.walk("/tasks", [], limit=500)]
        tenant = next(
            t
            for t in simulator.truth.tenants()
            if t.kind == "customer" and t.uuid and any(loc.startswith(t.locator) for loc in locators)
        )
        reply = api.token_response(scope=f"urn:acronis.com:tenant-id:{tenant.uuid}")
        token = reply.json()["access_token"]
        items = api.get("/tasks", [("limit", "500")], token=token).json()["items"]
        assert items
        assert all(item["tenant"]["locator"].startswith(tenant.locator) for item in items)
        everything = api.json("/tasks", [("lod", "count")])["count"]
        scoped = api.get("/tasks", [("lod", "count")], token=token).json()["count"]
        assert scoped < everything

    def test_unknown_tenant_scope_is_400(self, api: Api) -> None:
        """A scope naming no known tenant is refused."""
        reply = api.token_response(scope="urn:acronis.com:tenant-id:00000000-0000-4000-8000-000000000000")
        assert reply.status_code == 400


class TestBearer:
    """Bearer checks on the Task Manager endpoints."""

    def test_missing_token_is_401(self, api: Api) -> None:
        """A request without Authorization gets 401 with the documented error body."""
        reply = api.http.get("/api/task_manager/v2/tasks")
        assert reply.status_code == 401
        assert set(reply.json()) == {"domain", "code", "reason", "context", "kbLink", "debug"}

    def test_unknown_token_is_401(self, api: Api) -> None:
        """A token the IdP never issued gets 401."""
        assert api.get("/tasks", token="Zm9yZ2Vk=").status_code == 401  # noqa: S106  a made-up token

    def test_token_without_scope_is_403(self, api: Api, simulator: RunningSimulator) -> None:
        """A token issued while drop_scope is on gets 403 on task endpoints."""
        simulator.faults.drop_scope()
        token = api.token(fresh=True)
        assert api.get("/tasks", token=token).status_code == 403
        simulator.faults.clear()
        assert api.get("/tasks", token=api.token(fresh=True)).status_code == 200
