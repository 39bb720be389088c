"""Enable, disable and delete a router's Simple Queue by name."""

import pytest

from provisioning import services
from provisioning.errors import QueueNotFoundError
from provisioning.models import RouterOperation

pytestmark = pytest.mark.django_db


def test_disable_and_enable_a_queue_by_name(router, routeros):
    routeros.add_queue("cola-x", "10.60.0.9", "5M/5M")
    services.disable_queue(router, "cola-x")
    assert routeros.queues()[0]["disabled"] == "true"
    services.enable_queue(router, "cola-x")
    assert routeros.queues()[0]["disabled"] == "false"
    assert list(RouterOperation.objects.order_by("id").values_list("operation", flat=True)) == [
        "disable_queue",
        "enable_queue",
    ]


def test_delete_a_queue_by_name(router, routeros):
    routeros.add_queue("cola-x", "10.60.0.9", "5M/5M")
    services.delete_queue(router, "cola-x")
    assert routeros.queues() == []


def test_a_missing_queue_is_a_404_and_is_audited_as_failed(router, routeros):
    with pytest.raises(QueueNotFoundError) as info:
        services.enable_queue(router, "nope")
    assert (info.value.status, info.value.code) == (404, "QUEUE_NOT_FOUND")
    assert RouterOperation.objects.get().success is False


def test_a_queue_named_after_a_service_is_audited_against_it(service, router, routeros):
    router.queue_name_prefix = "SVC_"
    router.save()
    routeros.add_queue(f"SVC_{service.pk}", "10.60.0.9", "5M/5M")
    services.disable_queue(router, f"SVC_{service.pk}")
    assert RouterOperation.objects.get().service == service
