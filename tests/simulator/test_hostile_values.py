"""Every listing parameter against hostile values, thousands of repeated keys, broken cursors.

Over a real socket, byte for byte: NUL, invalid UTF-8, stray `%`, values longer than the
limit. Each gets a 200 page or a 400 with the documented body, never a hang-up or a 500.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from simulator.filters import FILTERS, MAX_VALUE_LENGTH
from simulator.listing import CONTROL

if TYPE_CHECKING:
    from .rawhttp import Client

KINDS = ("tasks", "activities")


HOSTILE_VALUES = [
    "",
    "%00",
    "a%00b",
    "%FF",
    "%C0%AF",
    "%ED%A0%80",
    "%E2%80%AE",
    "like(%00)",
    "like(%FF)",
    "like()",
    "gt(%FF)",
    "lt()",
    "gt(",
    "()",
    "%25",
    "%",
    "%G1",
    "x" * (MAX_VALUE_LENGTH + 1),
    "9" * 5000,
    "like(" + "y" * 30_000 + ")",
    "asc(%00)",
    "desc()",
]  # fmt: skip  raw, already escaped: invalid UTF-8, NUL, lone surrogates, stray %


class TestEveryParameterTakesHostileValues:
    """Every parameter of both listings answers hostile values with a 200 or a documented 400."""

    @pytest.mark.parametrize(
        ("kind", "name"), [(kind, name) for kind in KINDS for name in sorted({*FILTERS[kind], *CONTROL})]
    )
    def test_well_formed_reply(self, raw_client: Client, kind: str, name: str) -> None:
        """Each value gets 200 with a page or 400 with the documented body; never a hang-up or 500."""
        for value in HOSTILE_VALUES:
            reply = raw_client.get(f"/{kind}", f"{name}={value}")
            assert reply.status in (200, 400), (name, value[:80], reply.status, reply.body[:300])
            if reply.status == 200:
                assert isinstance(reply.json()["items"], list)
            else:
                reply.error()

    @pytest.mark.parametrize("kind", KINDS)
    def test_a_value_longer_than_the_limit_is_400(self, raw_client: Client, kind: str) -> None:
        """A filter value over MAX_VALUE_LENGTH characters is refused, naming the parameter."""
        assert raw_client.refused(f"/{kind}", "type=" + "x" * (MAX_VALUE_LENGTH + 1))["parameter"] == "type"

    def test_a_nul_in_a_name_is_an_unknown_parameter(self, raw_client: Client) -> None:
        """Parameter names with NUL or invalid UTF-8 are unknown parameters, not crashes."""
        for name in ("st%00ate", "%FF", "%00"):
            raw_client.refused("/tasks", f"{name}=started")


class TestManyRepeatedKeys:
    """Thousands of values for one filter: OR-ed, within SQLite's limits."""

    @pytest.mark.parametrize(
        ("name", "values"),
        [
            ("state", ["started"] * 4000),
            ("id", [str(n) for n in range(6000)]),
            ("tag", [f"t{n}" for n in range(3000)]),
            ("startedBy", [f"like(u{n})" for n in range(2500)]),
            ("policyName", [f"like(p{n})" for n in range(2500)]),
            ("resourceName", [f"r{n}" for n in range(3000)]),
        ],
    )
    def test_answered(self, raw_client: Client, name: str, values: list[str]) -> None:
        """The listing and the count answer 200 whatever the number of values."""
        query = "&".join(f"{name}={quote(value, safe='()')}" for value in values)
        assert raw_client.get("/tasks", query).status == 200
        assert raw_client.get("/tasks", "lod=count&" + query).status == 200

    def test_repeated_state_counts_once(self, raw_client: Client) -> None:
        """The same value 3000 times matches what it matches once."""
        assert raw_client.count("tasks", [("state", "completed")] * 3000) == raw_client.count(
            "tasks", [("state", "completed")]
        )

    @pytest.mark.parametrize("name", ["completedAt", "sustainable", "lod", "limit", "after", "allow_deleted"])
    def test_single_valued_parameters_refuse_repeats(self, raw_client: Client, name: str) -> None:
        """Parameters that take one value (two for a time range) say so with a 400."""
        kind = "activities" if name == "sustainable" else "tasks"
        raw_client.refused(f"/{kind}", "&".join([f"{name}=1"] * 3000))


class TestCursors:
    """Broken, forged, foreign and oversized cursors are 400s naming `after`."""

    @pytest.mark.parametrize(
        "after",
        [
            "",
            ".",
            "..",
            "a.b",
            "%FF.%FF",
            "%00",
            "e30",
            "e30.",
            "x" * 5000,
            "===.===",
            "e30.AAAAAAAAAAAAAAAAAAAAAA",
        ],
    )
    def test_garbage_is_400(self, raw_client: Client, after: str) -> None:
        """Nothing that did not come from the simulator is accepted."""
        assert raw_client.refused("/tasks", f"after={after}")["parameter"] == "after"

    def test_edited_and_foreign_cursors_are_400(self, raw_client: Client) -> None:
        """A real cursor edited by one character, or replayed on the other endpoint, is refused."""
        after = raw_client.get("/tasks", "limit=2").json()["paging"]["cursors"]["after"]
        flipped = after[:5] + ("A" if after[5] != "A" else "B") + after[6:]
        assert raw_client.refused("/tasks", f"after={flipped}")["parameter"] == "after"
        assert raw_client.refused("/activities", f"after={after}")["parameter"] == "after"
        raw_client.refused("/tasks", f"after={after}&state=started")
