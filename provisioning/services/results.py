"""What the provisioning services return: one result per use case, one outcome per service of a bulk run."""

from dataclasses import dataclass

from provisioning.models import Service


@dataclass(frozen=True)
class ProvisionResult:
    success: bool
    message: str
    ip: str
    mac: str
    queue_name: str
    max_limit: str


@dataclass(frozen=True)
class MutationResult:
    success: bool
    message: str
    service_id: int | None = None
    status: str = ""
    queue_name: str = ""
    max_limit: str = ""


@dataclass(frozen=True)
class Outcome:
    """One object's result in a bulk run (admin actions report these one by one)."""

    service: Service
    success: bool
    message: str
