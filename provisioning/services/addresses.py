"""Which live service holds an IP: the single lookup, and the address book a bulk chunk shares."""

from collections.abc import Iterable

from django.utils.translation import gettext as _

from provisioning.errors import AddressInUseError
from provisioning.models import Router, Service
from provisioning.services.validation import _valid_ip_or_none

Status = Service.Status


class _AddressBook:
    """Which live services hold the IPs a bulk chunk asks for: one query per chunk instead of one per service.

    A service claims its new IP when its change is planned and lets go of its old one only once the
    change succeeded, so two items of one run never end up with one IP (the runner sends the pending
    writes and asks again before refusing an IP that a pending change is moving away from).
    """

    def __init__(self, router_id: int | None, ips: Iterable[str]) -> None:
        self.router_id = router_id
        self._ips = {ip for ip in (_valid_ip_or_none(value) for value in ips) if ip}
        self._holders: dict[str, set[int]] | None = None
        self._held_by: dict[int, set[str]] = {}  # the same, by service

    def holder(self, service: Service, ip: str) -> int | None:
        others = self._load().get(ip, set()) - {service.pk}
        return min(others) if others else None

    def claim(self, service: Service, ip: str) -> bool:
        """Hold ``ip`` for ``service`` while its change runs; True if it did not hold it already."""
        holders = self._load().setdefault(ip, set())
        new = service.pk not in holders
        holders.add(service.pk)
        self._held_by.setdefault(service.pk, set()).add(ip)
        return new

    def settle(self, service: Service, ip: str) -> None:
        """The change succeeded: ``service`` holds ``ip`` and nothing else."""
        holders = self._load()
        for held in self._held_by.get(service.pk, set()) - {ip}:
            holders[held].discard(service.pk)
        self._held_by[service.pk] = {ip}

    def drop(self, service: Service, ip: str) -> None:
        self._load().get(ip, set()).discard(service.pk)
        self._held_by.get(service.pk, set()).discard(ip)

    def _load(self) -> dict[str, set[int]]:
        if self._holders is None:
            self._holders = {}
            rows = (
                Service.objects.filter(router_id=self.router_id, ip_address__in=self._ips)
                .exclude(status=Status.DADO_DE_BAJA)
                .values_list("ip_address", "pk")
            )
            for ip, pk in rows:
                self._holders.setdefault(ip, set()).add(pk)
                self._held_by.setdefault(pk, set()).add(ip)
        return self._holders


def _require_address_free(service: Service, router: Router, ip: str, addresses: _AddressBook | None = None) -> None:
    if addresses is not None:
        other = addresses.holder(service, ip)
    else:
        other = (
            Service.objects.filter(router=router, ip_address=ip)
            .exclude(pk=service.pk)
            .exclude(status=Status.DADO_DE_BAJA)
            .values_list("pk", flat=True)
            .first()
        )
    if other is not None:
        raise AddressInUseError(_("La IP %(ip)s ya es del servicio %(id)s.") % {"ip": ip, "id": other})
