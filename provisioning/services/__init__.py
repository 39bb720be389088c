"""Provisioning use cases, one module per concern; the public API is re-exported here for callers."""

# Each mutation validates first, does its router I/O outside any transaction (one connection, or the
# caller's in bulk runs), then records the outcome, the RouterOperation audit row and the event in one
# short transaction. Mutations converge: they read the router's state and change only what differs, so a
# re-run after a half-failure (connection dropped between the lease and the queue) finishes the job.
# Bulk runs do the same per chunk of services: router I/O for the chunk (writes pipelined), then every
# outcome, audit row and event of the chunk in one transaction.

from provisioning.services.bulk import BULK_ACTIONS, BULK_CHUNK, provision_services, run_bulk
from provisioning.services.cached_router import CachedRouter
from provisioning.services.connections import open_client, router_config
from provisioning.services.mutations import (
    activate_service,
    bind_ip,
    create_queue,
    delete_queue,
    deprovision_service,
    disable_queue,
    enable_queue,
    provision_service,
    suspend_service,
    update_speed,
)
from provisioning.services.results import MutationResult, Outcome, ProvisionResult
from provisioning.services.router_reads import (
    find_lease_by_ip,
    find_lease_by_mac,
    find_queue,
    get_config_status,
    get_resources,
    get_service_queue,
    list_leases,
    list_ppp_secrets,
    list_queues,
    validate_pppoe,
)

__all__ = [
    "BULK_ACTIONS",
    "BULK_CHUNK",
    "CachedRouter",
    "MutationResult",
    "Outcome",
    "ProvisionResult",
    "activate_service",
    "bind_ip",
    "create_queue",
    "delete_queue",
    "deprovision_service",
    "disable_queue",
    "enable_queue",
    "find_lease_by_ip",
    "find_lease_by_mac",
    "find_queue",
    "get_config_status",
    "get_resources",
    "get_service_queue",
    "list_leases",
    "list_ppp_secrets",
    "list_queues",
    "open_client",
    "provision_service",
    "provision_services",
    "router_config",
    "run_bulk",
    "suspend_service",
    "update_speed",
    "validate_pppoe",
]
