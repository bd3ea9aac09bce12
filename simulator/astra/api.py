"""The two routes: list tasks (filters, include, limit, count, continue) and get one task."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from simulator.astra.problems import Problem, invalid
from simulator.astra.query import (
    Term,
    decode_continue_hop,
    encode_continue,
    parse_count,
    parse_filter,
    parse_include,
    parse_limit,
)

if TYPE_CHECKING:
    from simulator.astra.config import AstraConfig
    from simulator.astra.world import World

_KNOWN: Final = frozenset({"filter", "include", "limit", "count", "continue", "orderBy"})


class TasksApi:
    """Answers the task routes of one account from the world."""

    def __init__(self, config: AstraConfig, world: World) -> None:
        self._config, self._world = config, world
        self.omit_count = False  # faults: a reply without metadata.count even when asked
        self.unknown_state: str | None = None  # faults: list every open task under this state
        self.empty_pages = False  # faults: an empty page with a continue before every page

    def list_tasks(self, query: list[tuple[str, str]]) -> dict[str, Any]:
        """Return one page of the listing."""
        params = _single(query)
        after, filter_text, hop = 0, params.get("filter", ""), False
        if "continue" in params:
            after, filter_text, hop = decode_continue_hop(params["continue"])
        if self.empty_pages and not hop:
            empty = {"continue": encode_continue(after, filter_text, hop=True)}
            return {"type": "application/astra-tasks", "version": "1.1", "items": [], "metadata": empty}
        terms = parse_filter(filter_text) if filter_text else ()
        include = parse_include(params["include"]) if "include" in params else None
        limit = parse_limit(params["limit"]) if "limit" in params else self._config.default_limit
        if self._config.max_limit is not None:
            limit = min(limit, self._config.max_limit)  # silently, as other services cap pages
        counting = parse_count(params.get("count", "false")) and not self.omit_count
        matched, total = self._matching(terms, after, limit, counting=counting)
        page = matched[:limit]
        metadata: dict[str, Any] = {}
        if len(matched) > limit:
            metadata["continue"] = encode_continue(page[-1][0], filter_text)
        if counting:
            metadata["count"] = total
        items = [_select(resource, include) for _, resource in page]
        return {"type": "application/astra-tasks", "version": "1.1", "items": items, "metadata": metadata}

    def _matching(
        self, terms: tuple[Term, ...], after: int, limit: int, *, counting: bool
    ) -> tuple[list[tuple[int, dict[str, Any]]], int]:
        """Return up to limit + 1 matching tasks after ``after``, and (when counting) every match's count."""
        account, total = self._config.account_id, 0
        matched: list[tuple[int, dict[str, Any]]] = []
        for task in self._world.tasks():
            if not counting and (task.seq <= after or len(matched) > limit):
                continue
            resource = self._resource(task.resource(account))
            if all(term.matches(resource) for term in terms):
                total += 1
                if task.seq > after and len(matched) <= limit:
                    matched.append((task.seq, resource))
        return matched, total

    def get_task(self, task_id: str) -> dict[str, Any]:
        """Return one task, or a 404."""
        for task in self._world.tasks():
            if task.id == task_id:
                return self._resource(task.resource(self._config.account_id))
        raise Problem(404, "The requested task was not found.")

    def _resource(self, resource: dict[str, Any]) -> dict[str, Any]:
        if self.unknown_state is not None and resource["state"] in ("running", "notStarted"):
            resource["state"] = self.unknown_state
        return resource


def _single(query: list[tuple[str, str]]) -> dict[str, str]:
    """Each parameter at most once; an unknown one is a 400, as Astra validates its queries."""
    params: dict[str, str] = {}
    for key, value in query:
        if key not in _KNOWN:
            raise invalid(key[:64], "unknown query parameter")
        if key in params:
            raise invalid(key, "given more than once")
        params[key] = value
    return params


def _select(resource: dict[str, Any], include: tuple[str, ...] | None) -> Any:  # noqa: ANN401  an item or a row
    """With ``include`` an item is a JSON array of those fields' values, in that order (null if absent)."""
    if include is None:
        return resource
    return [resource.get(name) for name in include]
