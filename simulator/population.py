"""The seeded world tasks happen in: tenants, their machines, policies and users.

Tenants form Acronis's hierarchy, root partner → partners → customers → units,
with `locator` the path of ids from the root (`/1/1496262/1496265/`), and no
`uuid` on some, as in real payloads. The deep tree (`tenant_tree="deep"`) nests one
level more, root → partners → sub-partners and folders → customers → units, and lets
the root and the partners own tasks too: what a sharded deployment must account for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from simulator import catalog

if TYPE_CHECKING:
    import random

ROOT_TENANT_ID = 1
_FIRST_TENANT_ID = 1_496_262  # real tenant ids look like this (seeds/004)
_UNIT_NAMES = ("Finance", "Engineering", "Sales", "Support", "Operations", "Legal", "Marketing")


@dataclass(frozen=True)
class TenantRecord:
    """A tenant as the ground truth reports it; `uuid` is None where the API omits it."""

    id: str
    uuid: str | None
    name: str
    locator: str
    parent_id: str | None
    kind: str  # root, partner, folder, customer or unit


@dataclass(frozen=True)
class Linked:
    """A policy or resource a task links to (`{name, id, type}` on the wire)."""

    ref: int
    id: str
    name: str
    type: str
    tenant_id: int
    agent_id: str = ""  # resources: the agent that protects the machine
    cluster_id: str = ""


@dataclass
class World:
    """Everything generated once per seed that tasks refer to."""

    tenants: list[TenantRecord]
    workload_tenants: list[int]  # tenants that own tasks: customers and units (deep: and partners)
    tenant_weights: list[float]
    policies: list[Linked] = field(default_factory=list)
    resources: list[Linked] = field(default_factory=list)
    policies_of: dict[tuple[int, str], list[int]] = field(default_factory=dict)  # (tenant, type) → refs
    resources_of: dict[int, list[int]] = field(default_factory=dict)
    users_of: dict[int, list[str]] = field(default_factory=dict)

    def tenant(self, tenant_id: int) -> TenantRecord:
        """Return the tenant with this numeric id."""
        return self._by_id[tenant_id]

    def __post_init__(self) -> None:
        self._by_id = {int(tenant.id): tenant for tenant in self.tenants}


def make_uuid(rng: random.Random) -> str:
    """Return a random version-4 UUID string drawn from `rng` (fast enough for millions)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def build_world(rng: random.Random, tenant_count: int, tree: str = "flat") -> World:
    """Generate the tenant tree (`flat` or `deep`) and what each tenant owns."""
    tenants = _deep_tree(rng, tenant_count) if tree == "deep" else _tenant_tree(rng, tenant_count)
    owning = ("customer", "unit") if tree == "flat" else ("root", "partner", "customer", "unit")
    owners = [int(t.id) for t in tenants if t.kind in owning] or [ROOT_TENANT_ID]
    # A few big tenants and a long tail, as in any multi-tenant cloud.
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(owners))]
    rng.shuffle(weights)
    if tree == "deep":  # the root's own tasks must exist whatever the shuffle gave it
        weights[owners.index(ROOT_TENANT_ID)] = sum(weights) / len(weights)
    world = World(tenants=tenants, workload_tenants=owners, tenant_weights=weights)
    for tenant_id in owners:
        _furnish(rng, world, tenant_id)
    return world


def _tenant_tree(rng: random.Random, count: int) -> list[TenantRecord]:
    made = _Layers(rng)
    rest = count - 1
    partners = max(1, round(rest * 0.04)) if rest else 0
    units = round(rest * 0.15) if rest > partners + 1 else 0
    made.add("partner", partners, made.of("root"))
    made.add("customer", rest - partners - units, made.of("partner"))
    made.add("unit", units, made.of("customer"))
    return made.tenants


def _deep_tree(rng: random.Random, count: int) -> list[TenantRecord]:
    """Root → partners → sub-partners and folders → customers (under any of them) → units.

    The root's children always have a uuid: each is what a shard's token is scoped to.
    """
    made = _Layers(rng)
    rest = count - 1
    partners = min(rest, max(2, round(rest**0.5 / 2)))
    middle = min(rest - partners, round(rest * 0.1))
    units = min(rest - partners - middle, round(rest * 0.15))
    made.add("partner", partners, made.of("root"), uuid_always=True)
    for _ in range(middle):  # under a partner, or under a sub-partner made before it
        made.add(rng.choice(("partner", "folder")), 1, made.of("partner"))
    made.add("customer", rest - partners - middle - units, made.of("partner") + made.of("folder"))
    made.add("unit", units, made.of("customer"))
    return made.tenants


class _Layers:
    """The tenants made so far, root first, with the next id to hand out."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        root = TenantRecord(str(ROOT_TENANT_ID), make_uuid(rng), "Root partner", "/1/", None, "root")
        self.tenants = [root]
        self._next_id = _FIRST_TENANT_ID

    def of(self, kind: str) -> list[TenantRecord]:
        """Return the tenants of one kind made so far."""
        return [t for t in self.tenants if t.kind == kind]

    def add(self, kind: str, count: int, parents: list[TenantRecord], *, uuid_always: bool = False) -> None:
        """Make `count` tenants of `kind`, each under a parent drawn from `parents`."""
        rng = self._rng
        for _ in range(count):
            parent = rng.choice(parents)
            no_uuid = rng.random() < 0.1 and not uuid_always  # noqa: PLR2004  ~10% lack a uuid
            self.tenants.append(
                TenantRecord(
                    id=str(self._next_id),
                    uuid=None if no_uuid else make_uuid(rng),
                    name=_tenant_name(rng, kind, self._next_id),
                    locator=f"{parent.locator}{self._next_id}/",
                    parent_id=parent.id,
                    kind=kind,
                )
            )
            self._next_id += rng.randint(1, 4)


def _tenant_name(rng: random.Random, kind: str, tenant_id: int) -> str:
    if kind == "unit":
        return f"{rng.choice(_UNIT_NAMES)} {tenant_id % 100}"
    if kind == "customer" and rng.random() < 0.4:  # noqa: PLR2004  some customers are people
        return f"{rng.choice(catalog.FIRST_NAMES)} {rng.choice(catalog.LAST_NAMES)}"
    company = rng.choice(catalog.COMPANY_WORDS)
    return f"{company} {rng.choice(catalog.COMPANY_SUFFIXES)} {tenant_id % 1000}"


def _furnish(rng: random.Random, world: World, tenant_id: int) -> None:
    """Give a tenant machines (each with its agent), protection policies and users."""
    hosts = []
    for _ in range(rng.randint(1, 6)):
        host = f"{rng.choice(catalog.HOST_PREFIXES)}-{rng.getrandbits(24):06X}"
        hosts.append(host)
        resource_type = rng.choices(catalog.RESOURCE_TYPES, weights=(0.7, 0.25, 0.05))[0]
        cluster = make_uuid(rng) if rng.random() < 0.1 else ""  # noqa: PLR2004  few agents are clustered
        ref = len(world.resources)
        world.resources.append(
            Linked(ref, make_uuid(rng), host, resource_type, tenant_id, make_uuid(rng), cluster)
        )
        world.resources_of.setdefault(tenant_id, []).append(ref)
    for policy_type in catalog.POLICY_TYPES:
        for number in range(1, rng.randint(1, 3) + 1):
            ref = len(world.policies)
            name = f"{_POLICY_NAMES[policy_type]} {number}"
            world.policies.append(Linked(ref, make_uuid(rng), name, policy_type, tenant_id))
            world.policies_of.setdefault((tenant_id, policy_type), []).append(ref)
    person = f"{rng.choice(catalog.FIRST_NAMES)}.{rng.choice(catalog.LAST_NAMES)}".lower()
    world.users_of[tenant_id] = [f"{person}@tenant{tenant_id}.example", f"{hosts[0]}\\AMS User"]


_POLICY_NAMES = {
    "backup": "Backup plan",
    "policy.protection.total": "Total protection",
    "policy.backup.machine": "Machine backup",
}
