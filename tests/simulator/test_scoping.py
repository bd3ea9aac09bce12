"""A tenant-scoped token sees its subtree, on every request the exporter makes.

The Task Manager API has no tenant filter; a token minted with
`scope=urn:acronis.com:tenant-id:<uuid>` is what splits one partner account across
exporters (docs/sharding.md). So on the deep tenant tree, for listings (open items, a
completion window in completedAt order), `lod=count`, single items and followed cursors,
the root's children partition everything the root's token sees except what the root owns
itself, and nothing outside a token's subtree reaches it, tenant names included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from simulator import ManualClock, SimulatorConfig, start_simulator
from simulator.population import ROOT_TENANT_ID

from .helpers import Api, after_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from simulator import RunningSimulator
    from simulator.population import TenantRecord

    from .helpers import Params

DEEP = SimulatorConfig(tasks=500, open_tasks=80, tenants=40, seed=11, tenant_tree="deep")
OPEN: Params = [("state", s) for s in ("enqueued", "assigned", "started", "paused")]
KINDS = ("/tasks", "/activities")
ROOT = str(ROOT_TENANT_ID)


@pytest.fixture(scope="module")
def deep() -> Iterator[RunningSimulator]:
    """One simulator with the deep tree, shared by the module's read-only requests."""
    with start_simulator(DEEP, clock=ManualClock(start=1_790_000_000.0)) as sim:
        yield sim


@pytest.fixture(scope="module")
def api(deep: RunningSimulator) -> Iterator[Api]:
    """Return a client of `deep` (its default token is the root's)."""
    client = Api(deep)
    yield client
    client.close()


@pytest.fixture(scope="module")
def children(deep: RunningSimulator) -> list[TenantRecord]:
    """Return the root's children: one shard each."""
    made = [t for t in deep.truth.tenants() if t.parent_id == str(ROOT_TENANT_ID)]
    assert len(made) >= 2
    return made


def scoped_token(api: Api, tenant: TenantRecord) -> str:
    """Mint a token scoped to `tenant`'s subtree."""
    reply = api.token_response(scope=f"urn:acronis.com:tenant-id:{tenant.uuid}")
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


def walk(api: Api, path: str, params: Params, token: str) -> list[dict[str, Any]]:
    """Every item of a listing with `token`, following cursors (7 a page: many pages)."""
    items: list[dict[str, Any]] = []
    reply = api.get(path, [*params, ("limit", "7")], token=token)
    while True:
        assert reply.status_code == 200, reply.text
        items.extend(reply.json()["items"])
        after = after_of(reply.json())
        if not after:
            return items
        reply = api.get(path, [("after", after), ("limit", "7"), ("lod", "short")], token=token)


def completion_window(api: Api, path: str) -> Params:
    """Return a window after the median completion, in the shape of the exporter's completion walk."""
    done = sorted(i["completedAt"] for i in api.walk(path, [("state", "completed")], limit=500))
    assert len(done) > 20
    return [
        ("state", "completed"),
        ("completedAt", f"gt({done[len(done) // 2]})"),
        ("order", "asc(completedAt)"),
    ]


@pytest.fixture(scope="module", params=[(k, w) for k in KINDS for w in ("open", "completed")], ids=str)
def listing(request: pytest.FixtureRequest, api: Api) -> tuple[str, Params]:
    """Return a listing the exporter walks: open items, or a completion window."""
    path, which = request.param
    filters = OPEN if which == "open" else completion_window(api, path)
    return path, [*filters, ("lod", "short")]


class TestChildrenPartitionTheAccount:
    """Per child of the root, a scoped token's view is exactly that child's subtree."""

    def test_each_child_sees_exactly_its_subtree(
        self, api: Api, children: list[TenantRecord], listing: tuple[str, Params]
    ) -> None:
        """A child's listing holds the root listing's items in its subtree, and only those."""
        path, params = listing
        everything = walk(api, path, params, api.token())
        for child in children:
            seen = walk(api, path, params, scoped_token(api, child))
            assert {i["id"] for i in seen} == {
                i["id"] for i in everything if i["tenant"]["locator"].startswith(child.locator)
            }
            assert all(i["tenant"]["locator"].startswith(child.locator) for i in seen)  # names too

    def test_children_and_the_root_itself_cover_the_root_view_once(
        self, api: Api, children: list[TenantRecord], listing: tuple[str, Params]
    ) -> None:
        """Disjoint child views; what none of them sees is what the root tenant owns itself."""
        path, params = listing
        everything = walk(api, path, params, api.token())
        views = [[i["id"] for i in walk(api, path, params, scoped_token(api, c))] for c in children]
        union = [item for view in views for item in view]
        assert len(union) == len(set(union)), "an item is in two children's views"
        missed = {i["id"] for i in everything} - set(union)
        assert missed == {i["id"] for i in everything if i["tenant"]["id"] == str(ROOT_TENANT_ID)}

    def test_counts_are_scoped_like_listings(
        self, api: Api, children: list[TenantRecord], listing: tuple[str, Params]
    ) -> None:
        """lod=count with a child's token counts exactly the items its listing holds."""
        path, params = listing
        filters = [(k, v) for k, v in params if k not in ("lod", "order")]
        for child in children:
            token = scoped_token(api, child)
            count = api.get(path, [*filters, ("lod", "count")], token=token).json()["count"]
            assert count == len(walk(api, path, params, token))


class TestNothingLeaksOutOfTheSubtree:
    """Single items and cursors obey the presenting token's scope."""

    @pytest.mark.parametrize("path", KINDS)
    def test_single_items_outside_the_subtree_are_404(
        self, api: Api, children: list[TenantRecord], path: str
    ) -> None:
        """GET /tasks/{id}: 200 for an item in the child's subtree, 404 for one outside."""
        everything = walk(api, path, [*OPEN, ("lod", "short")], api.token())
        child = children[0]
        inside = next(i for i in everything if i["tenant"]["locator"].startswith(child.locator))
        outside = next(i for i in everything if not i["tenant"]["locator"].startswith(child.locator))
        token = scoped_token(api, child)
        assert api.get(f"{path}/{inside['id']}", token=token).status_code == httpx.codes.OK
        assert api.get(f"{path}/{outside['id']}", token=token).status_code == httpx.codes.NOT_FOUND

    def test_a_cursor_does_not_widen_a_token_view(self, api: Api, children: list[TenantRecord]) -> None:
        """A cursor minted for the root token, followed with a child's token, stays in the subtree."""
        first = api.json("/tasks", [("state", "completed"), ("limit", "5")])
        after = after_of(first)
        assert after
        child = children[0]
        reply = api.get("/tasks", [("after", after), ("limit", "200")], token=scoped_token(api, child))
        assert reply.status_code == httpx.codes.OK
        items = reply.json()["items"]
        assert items
        assert all(i["tenant"]["locator"].startswith(child.locator) for i in items)


class TestDeepTree:
    """--tenant-tree deep: the shape a sharding recipe has to cope with."""

    def test_tree_nests_partners_folders_customers_and_units(self, deep: RunningSimulator) -> None:
        """Sub-partners or folders sit under partners, units under customers, five levels or more."""
        tenants = {t.id: t for t in deep.truth.tenants()}
        kinds = {t.kind for t in tenants.values()}
        assert {"root", "partner", "customer", "unit"} <= kinds
        middle = [t for t in tenants.values() if t.kind in ("partner", "folder") and t.parent_id != ROOT]
        assert middle, "no sub-partner or folder under a partner"
        assert max(t.locator.count("/") - 1 for t in tenants.values()) >= 5  # root to unit
        for tenant in tenants.values():
            parent = tenants.get(tenant.parent_id or "")
            assert parent is None or tenant.locator == f"{parent.locator}{tenant.id}/"

    def test_the_root_and_partners_own_tasks_and_shard_roots_have_uuids(
        self, deep: RunningSimulator, children: list[TenantRecord]
    ) -> None:
        """Some open tasks belong to the root and to partners; every child of the root has a uuid."""
        kind_of = {t.id: t.kind for t in deep.truth.tenants()}
        owners = {kind_of[item.tenant_id] for item in deep.truth.open_items()}
        assert {"root", "partner"} <= owners
        assert all(child.uuid for child in children)

    def test_the_flat_tree_is_the_default(self) -> None:
        """Without the setting the tree is the flat one, and an unknown tree is refused."""
        assert SimulatorConfig().tenant_tree == "flat"
        with pytest.raises(ValueError, match="tenant_tree must be flat or deep"):
            SimulatorConfig(tenant_tree="wide")  # type: ignore[arg-type]
