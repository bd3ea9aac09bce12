"""The opt-in resource and policy outcomes, polled by the real poller from the simulator over HTTP.

Capped ids fold into ``__other__`` (holding the newest of the folded), the type and tenant
filters leave series out, ``--poll.lookback 0`` seeds nothing, and with the option off the
exposition has none of the new families.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from prometheus_client.parser import text_string_to_metric_families
from pydantic import HttpUrl, SecretStr

from exporter.app import build
from exporter.config import ApiSettings, MetricsSettings, PollSettings, Settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator import ManualClock, RunningSimulator

LAST = "acronis_resource_last_completion_timestamp_seconds"
POLICY_LAST = "acronis_policy_last_completion_timestamp_seconds"
Series = dict[tuple[tuple[str, str], ...], float]


def poll(
    simulator: RunningSimulator,
    clock: ManualClock,
    polls: int = 1,
    lookback: float = 86400.0,
    **metrics: object,
) -> dict[str, Series]:
    """Poll ``polls`` times (the workload advanced 10 minutes between), return the samples by name."""
    config = simulator.config
    api = ApiSettings(
        url=HttpUrl(simulator.url), client_id=config.client_id, client_secret=SecretStr(config.client_secret)
    )
    settings = Settings(
        api=api,
        poll=PollSettings(activities=False, lookback=lookback),
        metrics=MetricsSettings.model_validate({"resources": True, **metrics}),
    )
    exporter = build(settings, clock=clock.now, monotonic=clock.now, rng=random.Random(0))  # noqa: S311 - a seeded jitter, not crypto
    try:
        for index in range(polls):
            if index:
                simulator.workload.advance(600.0)
            exporter.poller.poll_once()
        text = exporter.exposition.data("text").decode()
    finally:
        exporter.close()
    found: dict[str, Series] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def label_values(series: Series, label: str) -> set[str]:
    """Every value ``label`` takes in ``series``."""
    return {dict(key)[label] for key in series}


class TestOutcomes:
    """What the look-back walk finds becomes one gauge per tenant, resource, type and result code."""

    def test_every_resource_is_its_latest_completion_per_result_code(
        self, simulator_factory: Callable[..., RunningSimulator], clock: ManualClock
    ) -> None:
        """Each gauge equals the simulator's newest completedAt of that resource and result code."""
        simulator = simulator_factory()
        found = poll(simulator, clock)
        truth = simulator.truth.last_outcomes("resource")
        since = clock.now() - 86400.0
        expected = {(t, r, c): at for (t, r, c), at in truth.items() if at > since}
        got = {
            (dict(k)["tenant_id"], dict(k)["resource_id"], dict(k)["result_code"]): v
            for k, v in found[LAST].items()
        }
        assert got == expected

    def test_names_are_in_the_info_series_with_rows_for_folded_and_unknown(
        self, simulator_factory: Callable[..., RunningSimulator], clock: ManualClock
    ) -> None:
        """acronis_resource_info names every resource with a series, plus __other__ and unknown."""
        simulator = simulator_factory()
        found = poll(simulator, clock)
        names = {dict(k)["resource_id"]: dict(k)["resource_name"] for k in found["acronis_resource_info"]}
        links = simulator.truth.links("resource")
        assert label_values(found[LAST], "resource_id") | {"__other__", "unknown"} == set(names)
        assert all(names[r] == links[r][0] for r in label_values(found[LAST], "resource_id"))


class TestCardinality:
    """Caps fold, filters leave out, as for every label."""

    def test_resources_beyond_the_cap_fold_into_other_holding_the_newest(
        self, simulator_factory: Callable[..., RunningSimulator], clock: ManualClock
    ) -> None:
        """With max_resources=2, two ids keep their own series; __other__ holds the newest of the rest."""
        simulator = simulator_factory()
        found = poll(simulator, clock, max_resources=2)
        own = label_values(found[LAST], "resource_id") - {"__other__"}
        assert len(own) == 2
        truth = simulator.truth.last_outcomes("resource")
        since = clock.now() - 86400.0
        folded_ok = max(at for (_, r, c), at in truth.items() if r not in own and c == "ok" and at > since)
        other_ok = [
            v
            for k, v in found[LAST].items()
            if dict(k)["resource_id"] == "__other__" and dict(k)["result_code"] == "ok"
        ]
        assert max(other_ok) == folded_ok

    def test_type_filters_keep_only_the_listed_types(
        self, simulator_factory: Callable[..., RunningSimulator], clock: ManualClock
    ) -> None:
        """--metrics.resource-types and --metrics.policy-types leave every other type out."""
        simulator = simulator_factory()
        found = poll(
            simulator, clock, resource_types=["resource.machine"], policy_types=["policy.backup.machine"]
        )
        assert label_values(found[LAST], "resource_type") == {"resource.machine"}
        assert label_values(found[POLICY_LAST], "policy_type") == {"policy.backup.machine"}

    def test_a_denied_tenant_has_no_resource_series(
        self, simulator_factory: Callable[..., RunningSimulator], clock: ManualClock
    ) -> None:
        """The tenant filter applies to the outcome families too."""
        simulator = simulator_factory()
        busiest = max(
            (key[0] for key in simulator.truth.last_outcomes("resource")),
            key=lambda tenant: sum(
                1 for key in simulator.truth.last_outcomes("resource") if key[0] == tenant
            ),
        )
        found = poll(simulator, clock, tenant_deny=[busiest])
        assert busiest not in label_values(found[LAST], "tenant_id")
        assert label_values(found[LAST], "tenant_id")


class TestOptIn:
    """Off by default; a look-back of 0 seeds nothing."""

    def test_without_the_option_no_outcome_family_or_source_appears(
        self, simulator_factory: Callable[..., RunningSimulator], clock: ManualClock
    ) -> None:
        """The default exposition has neither the families nor a resource_outcomes source."""
        found = poll(simulator_factory(), clock, resources=False)
        names = {name for name in found if "resource" in name or "policy" in name or "window" in name}
        assert names == set()
        assert "resource_outcomes" not in label_values(found["acronis_exporter_source_up"], "source")

    def test_a_zero_lookback_shows_only_what_completed_after_the_start(
        self, simulator_factory: Callable[..., RunningSimulator], clock: ManualClock
    ) -> None:
        """With --poll.lookback 0 the first poll has no outcome; the next one has those completed since."""
        simulator = simulator_factory(completion_rate=0.05)
        started = clock.now()
        found = poll(simulator, clock, polls=2, lookback=0.0)
        assert found[LAST]
        assert min(found[LAST].values()) > started - 600.0  # the completion overlap, at most
