"""Concurrency: 20 approvals racing on one stock row never lose an update nor take stock below zero."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from inventory import services
from inventory.errors import InsufficientStockError
from inventory.models import Movement, Stock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; SQLite serialises every writer")


def approve_in_thread(movement_id):
    try:
        services.approve_movement(movement_id)
        return "ok"
    except InsufficientStockError:
        return "insufficient"
    finally:
        connections.close_all()


def race(movement_ids):
    with ThreadPoolExecutor(max_workers=len(movement_ids)) as pool:
        return list(pool.map(approve_in_thread, movement_ids))


def test_twenty_concurrent_salidas_never_lose_an_update(stocked, central):
    services.set_stock(article=stocked, warehouse=central, quantity=100)
    ids = [
        services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=3).pk for _ in range(20)
    ]
    outcomes = race(ids)
    assert outcomes.count("ok") == 20
    assert Stock.objects.get(article=stocked, warehouse=central).quantity == 40


def test_twenty_concurrent_salidas_never_go_below_zero(stocked, central):
    ids = [
        services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=1).pk for _ in range(20)
    ]
    outcomes = race(ids)  # only 10 units in stock
    assert outcomes.count("ok") == 10
    assert outcomes.count("insufficient") == 10
    assert Stock.objects.get(article=stocked, warehouse=central).quantity == 0
    assert Movement.objects.filter(pk__in=ids, status="aprobado").count() == 10
