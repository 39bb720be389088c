"""Movements: recorded as pending, applied to stock only on approval, never below zero, with events and alerts."""

from decimal import Decimal

import pytest

from erp.models import OutboxEvent
from inventory import services
from inventory.errors import InsufficientStockError, InvalidMovementError, MovementNotPendingError
from inventory.models import AlertStatus, Movement, Stock, StockAlert

pytestmark = pytest.mark.django_db


def quantity(article, warehouse):
    return Stock.objects.get(article=article, warehouse=warehouse).quantity


def event_types():
    return list(OutboxEvent.objects.order_by("id").values_list("type", flat=True))


def test_a_new_movement_is_pending_and_does_not_touch_stock(stocked, central):
    movement = services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=3)
    assert movement.status == "pendiente"
    assert quantity(stocked, central) == 10
    assert event_types()[-1] == "movimiento_creado"


def test_approving_applies_the_movement_and_emits_movimiento_aprobado(stocked, central):
    movement = services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=3)
    services.approve_movement(movement.pk)
    assert quantity(stocked, central) == 7
    assert Movement.objects.get(pk=movement.pk).status == "aprobado"
    assert event_types()[-1] == "movimiento_aprobado"


def test_an_entrada_adds_and_a_transfer_moves_between_warehouses(stocked, central, north):
    services.approve_movement(
        services.create_movement(kind="entrada", article=stocked, warehouse=central, quantity=5).pk
    )
    transfer = services.create_movement(
        kind="transferencia", article=stocked, warehouse=central, to_warehouse=north, quantity=4
    )
    services.approve_movement(transfer.pk)
    assert quantity(stocked, central) == 11
    assert quantity(stocked, north) == 4


def test_a_salida_larger_than_stock_fails_and_changes_nothing(stocked, central):
    movement = services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=11)
    before = event_types()
    with pytest.raises(InsufficientStockError, match="hay 10"):
        services.approve_movement(movement.pk)
    assert quantity(stocked, central) == 10
    assert Movement.objects.get(pk=movement.pk).status == "pendiente"
    assert event_types() == before


def test_a_transfer_larger_than_the_source_fails_without_touching_the_destination(stocked, central, north):
    movement = services.create_movement(
        kind="transferencia", article=stocked, warehouse=central, to_warehouse=north, quantity=50
    )
    with pytest.raises(InsufficientStockError):
        services.approve_movement(movement.pk)
    assert quantity(stocked, central) == 10
    assert not Stock.objects.filter(warehouse=north, quantity__gt=0).exists()


@pytest.mark.parametrize("qty", ["0", "-1"])
def test_zero_or_negative_quantities_are_refused(stocked, central, qty):
    with pytest.raises(InvalidMovementError, match="mayor que cero"):
        services.create_movement(kind="entrada", article=stocked, warehouse=central, quantity=Decimal(qty))
    assert not Movement.objects.filter(kind="entrada").exists()


def test_a_transfer_needs_another_warehouse(stocked, central):
    with pytest.raises(InvalidMovementError, match="destino"):
        services.create_movement(kind="transferencia", article=stocked, warehouse=central, quantity=1)
    with pytest.raises(InvalidMovementError, match="destino"):
        services.create_movement(
            kind="transferencia", article=stocked, warehouse=central, to_warehouse=central, quantity=1
        )


def test_a_decided_movement_cannot_be_approved_or_rejected_again(stocked, central):
    movement = services.create_movement(kind="entrada", article=stocked, warehouse=central, quantity=1)
    services.reject_movement(movement.pk, reason="duplicado")
    with pytest.raises(MovementNotPendingError):
        services.approve_movement(movement.pk)
    with pytest.raises(MovementNotPendingError):
        services.reject_movement(movement.pk)
    assert quantity(stocked, central) == 10


def test_auto_approve_applies_at_creation_or_not_at_all(stocked, central):
    services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=2, auto_approve=True)
    assert quantity(stocked, central) == 8
    with pytest.raises(InsufficientStockError):
        services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=100, auto_approve=True)
    assert Movement.objects.filter(quantity=100).count() == 0  # the pending row rolled back with the approval


def test_falling_below_minimum_opens_one_alert_and_emits_stock_bajo(stocked, central):
    services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=6, auto_approve=True)
    services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=1, auto_approve=True)
    alerts = StockAlert.objects.filter(article=stocked, warehouse=central)
    assert alerts.count() == 1
    assert alerts.get().status == AlertStatus.OPEN
    low = OutboxEvent.objects.filter(type="stock_bajo")
    assert low.count() == 1
    assert low.get().payload == {
        "articulo": "ONU-HG8145",
        "nombre": "ONU Huawei HG8145V5",
        "deposito": "CENTRAL",
        "cantidad_actual": "4.000",
        "umbral_minimo": "5.000",
    }
    assert OutboxEvent.objects.filter(type="alerta_generada").count() == 1


def test_the_alert_resolves_itself_when_stock_is_back_at_the_minimum(stocked, central):
    services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=8, auto_approve=True)
    alert = StockAlert.objects.get()
    services.acknowledge_alert(alert.pk)
    services.create_movement(kind="entrada", article=stocked, warehouse=central, quantity=3, auto_approve=True)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    # A new drop opens a new alert.
    services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=1, auto_approve=True)
    assert StockAlert.objects.filter(status=AlertStatus.OPEN).count() == 1


def test_set_stock_records_an_approved_ajuste_and_nothing_when_unchanged(stocked, central):
    movement = services.set_stock(article=stocked, warehouse=central, quantity=4, reference="inventario")
    assert movement.kind == "ajuste" and movement.status == "aprobado" and movement.direction == -1
    assert quantity(stocked, central) == 4
    assert services.set_stock(article=stocked, warehouse=central, quantity=4) is None


def test_inactive_articles_take_no_movements(stocked, central):
    stocked.active = False
    stocked.save()
    with pytest.raises(InvalidMovementError, match="inactivo"):
        services.create_movement(kind="entrada", article=stocked, warehouse=central, quantity=1)


def test_the_database_refuses_negative_stock_even_past_the_services(stocked, central):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(article=stocked, warehouse=central).update(quantity=-1)
