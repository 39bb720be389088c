"""CachedRouter: a bulk run's cached view of one router, whose writes wait as steps to be pipelined."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from provisioning.routeros import DhcpLease, RouterClient, SimpleQueue
from provisioning.routeros.client import LEASES, QUEUES


@dataclass
class _Step:
    """One write a bulk run sends for a service; ``on_id`` learns the ``.id`` an ``add`` got."""

    menu: tuple[str, ...]
    verb: str
    values: dict[str, Any]
    on_id: Callable[[str], None] | None = None


class CachedRouter:
    """A bulk run's view of one router: leases and queues read once, then kept in step with its own writes.

    Converging a service needs lookups (lease by MAC and IP, queue by name); in a bulk run those would be
    most of the round trips. Writes are not sent at once: they are collected as steps (``take_steps``)
    and the cache is updated as if they succeeded, so the bulk runner can send the same step of many
    services in one round trip; when a step fails, the runner calls ``forget_all`` and the next
    service reads the router again. A concurrent change by someone else makes a write fail (reported
    for that service) or leaves a difference that the next run converges.
    """

    def __init__(self, client: RouterClient) -> None:
        self.client = client
        self._leases: dict[str, DhcpLease] | None = None
        self._by_mac: dict[str, set[str]] = {}
        self._by_address: dict[str, set[str]] = {}
        self._queues: dict[str, SimpleQueue] | None = None
        self._steps: list[_Step] = []
        self._placeholders = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)  # restart_deadline, close, pipeline...

    def take_steps(self) -> list[_Step]:
        steps, self._steps = self._steps, []
        return steps

    def forget_all(self) -> None:
        self._leases, self._queues = None, None
        self._by_mac, self._by_address = {}, {}

    def leases(self, *, mac: str | None = None, address: str | None = None) -> list[DhcpLease]:
        cache = self._lease_cache()
        if mac is None and address is None:
            return list(cache.values())
        ids = self._by_mac.get(mac, set()) if mac is not None else self._by_address.get(address, set())
        return [
            cache[lease_id]
            for lease_id in sorted(ids, key=_id_order)
            if (mac is None or cache[lease_id].mac_address == mac)
            and (address is None or cache[lease_id].address == address)
        ]

    def find_queue(self, name: str) -> SimpleQueue | None:
        return self._queue_cache().get(name)

    def add_lease(self, *, address: str, mac: str, server: str, comment: str) -> str:
        lease = DhcpLease(self._placeholder(), address, mac, "", "waiting", False, False, server, comment)
        self._lease_cache()
        self._store(lease)

        def learn(lease_id: str) -> None:
            if self._leases is not None and lease.id in self._leases:
                self._store(replace(self._leases.pop(lease.id), id=lease_id))

        values = {"address": address, "mac-address": mac, "server": server, "comment": comment}
        self._steps.append(_Step(LEASES, "add", values, learn))
        return lease.id

    def make_lease_static(self, lease_id: str) -> None:
        self._steps.append(_Step(LEASES, "make-static", {".id": lease_id}))
        self._patch_lease(lease_id, dynamic=False)

    def update_lease(self, lease_id: str, **values: Any) -> None:
        self._steps.append(_Step(LEASES, "set", {".id": lease_id, **values}))
        self._patch_lease(lease_id, **values)

    def remove_lease(self, lease_id: str) -> None:
        self._steps.append(_Step(LEASES, "remove", {".id": lease_id}))
        self._forget(lease_id)

    def add_queue(self, *, name: str, target: str, max_limit: str, comment: str, disabled: bool = False) -> str:
        queue = SimpleQueue(self._placeholder(), name, target, max_limit, disabled, comment, "0/0", "0/0")
        self._queue_cache()[name] = queue

        def learn(queue_id: str) -> None:
            if self._queues is not None and name in self._queues:
                self._queues[name] = replace(self._queues[name], id=queue_id)

        values = {"name": name, "target": target, "max-limit": max_limit, "comment": comment, "disabled": disabled}
        self._steps.append(_Step(QUEUES, "add", values, learn))
        return queue.id

    def update_queue(self, queue_id: str, **values: Any) -> None:
        self._steps.append(_Step(QUEUES, "set", {".id": queue_id, **values}))
        queues = self._queue_cache()
        for name, queue in queues.items():
            if queue.id == queue_id:
                fields = {key.replace("-", "_"): value for key, value in values.items()}
                queues[name] = replace(queue, **fields)

    def remove_queue(self, queue_id: str) -> None:
        self._steps.append(_Step(QUEUES, "remove", {".id": queue_id}))
        self._queues = {name: queue for name, queue in self._queue_cache().items() if queue.id != queue_id}

    def _placeholder(self) -> str:
        self._placeholders += 1
        return f"+{self._placeholders}"  # until the add's reply tells the real ``*HEX`` id

    def _queue_cache(self) -> dict[str, SimpleQueue]:
        if self._queues is None:
            self._queues = {queue.name: queue for queue in self.client.queues()}
        return self._queues

    def _lease_cache(self) -> dict[str, DhcpLease]:
        if self._leases is None:
            self._leases = {}
            for lease in self.client.leases():
                self._store(lease)
        return self._leases

    def _store(self, lease: DhcpLease) -> None:
        # Indexed by MAC and address: a run over thousands of leases must not scan them all per service.
        self._forget(lease.id)
        self._leases[lease.id] = lease
        self._by_mac.setdefault(lease.mac_address, set()).add(lease.id)
        self._by_address.setdefault(lease.address, set()).add(lease.id)

    def _forget(self, lease_id: str) -> None:
        lease = self._lease_cache().pop(lease_id, None)
        if lease is not None:
            self._by_mac.get(lease.mac_address, set()).discard(lease_id)
            self._by_address.get(lease.address, set()).discard(lease_id)

    def _patch_lease(self, lease_id: str, **values: Any) -> None:
        cache = self._lease_cache()
        if lease_id in cache:
            fields = {key.replace("-", "_"): value for key, value in values.items()}
            self._store(replace(cache[lease_id], **fields))


def _id_order(row_id: str) -> tuple[int, str]:
    """RouterOS ``*1A`` ids in the router's order (the order a print returns them)."""
    try:
        return (int(row_id.lstrip("*"), 16), row_id)
    except ValueError:
        return (0, row_id)
