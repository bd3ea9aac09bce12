"""Clock skew: the API's clock an hour ahead of or three hours behind the exporter's; late writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.faults.checks import scenario
from tests.faults.rig import COMPLETION_OVERLAP, running_rig, with_simulator
from tests.faults.truth import assert_counts_exact
from tests.support.prometheus import require_prometheus

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.faults.rig import Rig

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

LATE_WRITE_MAX = 20.0  # completions appear up to 20 s after their completedAt, well inside the overlap
WATERMARK = "acronis_exporter_watermark_timestamp_seconds"
TOKENS = "acronis_exporter_token_requests_total"
REQUESTS = "acronis_exporter_api_requests_total"


@pytest.fixture(
    scope="module",
    # Three hours is longer than a token lives: a timezone mistake on either host does that.
    params=[3600.0, -3 * 3600.0],
    ids=["api-clock-1h-ahead", "api-clock-3h-behind"],
)
def skewed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """Start a rig whose simulator clock is skewed from the wall and writes completions late."""
    require_prometheus()
    offset: float = request.param
    simulator = with_simulator(late_write_max=LATE_WRITE_MAX)
    with running_rig(tmp_path_factory.mktemp("skewed"), simulator=simulator, clock_offset=offset) as rig:
        yield rig


class TestClockSkew:
    """Completions are counted on the API's clock, whatever the exporter's clock says."""

    def test_completions_are_counted_exactly_despite_the_skew(self, skewed: Rig) -> None:
        """Every completion, late-written ones included, is counted once with the clocks an hour apart."""
        with scenario(skewed):
            for _ in range(3):
                skewed.advance(20)
                skewed.wait_polled()
            assert_counts_exact(skewed)
            late = [
                completion
                for completion in skewed.sim.truth.completions("tasks", written_after=skewed.counted_since)
                if completion.written_at - completion.completed_at > 1.0
            ]
            assert late, "the scenario wrote no completion late, so it proves nothing about them"

    def test_the_watermark_follows_the_apis_clock_not_the_exporters(self, skewed: Rig) -> None:
        """The watermark sits on the API's timeline, within one overlap of the simulator's now."""
        skewed.advance(20)
        exposition = skewed.wait_polled()
        for kind in ("tasks", "activities"):
            watermark = exposition.value(WATERMARK, kind=kind)
            assert watermark is not None, f"no {kind} watermark"
            api_now = skewed.clock.now()
            assert api_now - COMPLETION_OVERLAP <= watermark <= api_now, (
                f"{kind} watermark {watermark} is off the API clock ({api_now})"
            )

    def test_one_token_serves_many_polls_whatever_the_skew(self, skewed: Rig) -> None:
        """Token expiry is judged so that a skewed clock does not turn every request into a mint."""
        before = skewed.scrape()
        for _ in range(3):
            skewed.wait_polled()
        after = skewed.scrape()
        minted = after.total(TOKENS) - before.total(TOKENS)
        sent = after.total(REQUESTS) - before.total(REQUESTS)
        assert minted <= 1, f"{minted:g} tokens minted for {sent:g} requests over three polls"
