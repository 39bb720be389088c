"""ERP synchronisation against the ERP emulator: pull articles and stock, push each approved movement once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from integrations.models import IntegrationLog
from integrations.models.erp_sync import ErpSyncRecord, SyncStatus
from integrations.sync.erp import sync_erp
from inventory import services
from inventory.models import Article, Movement, Stock

pytestmark = pytest.mark.django_db


def stock_of(code, warehouse):
    return Stock.objects.get(article__code=code, warehouse__code=warehouse).quantity


def test_a_first_sync_brings_every_article_and_stock_row_across_pages(erp_connection, erp_server):
    erp_server.seed(25)  # 3 pages of 10
    run = sync_erp(erp_connection)
    assert run.ok, run.error
    assert Article.objects.count() == 25
    assert run.counts["articulos"] == 25 and run.counts["stock"] == 50
    for row in erp_server.stock:
        code = next(a["codigo"] for a in erp_server.articles if a["id"] == row["articulo"])
        assert stock_of(code.upper(), row["deposito"]) == Decimal(row["cantidad"])
    assert ErpSyncRecord.objects.filter(kind="articulo", status=SyncStatus.SYNCED).count() == 25


def test_stock_arrives_through_approved_ajustes_so_history_stays_complete(erp_connection, erp_server):
    article = erp_server.add_article(codigo="ONU-1", nombre="ONU", stock_minimo="0")
    erp_server.set_stock(article["id"], "CENTRAL", "7")
    sync_erp(erp_connection)
    movement = Movement.objects.get()
    assert (movement.kind, movement.status, movement.quantity) == ("ajuste", "aprobado", Decimal("7"))
    assert movement.reference == "erp:SAP"


def test_a_second_sync_updates_by_external_ref_instead_of_duplicating(erp_connection, erp_server):
    article = erp_server.add_article(codigo="ONU-1", nombre="ONU vieja")
    sync_erp(erp_connection)
    erp_server.update_article(article["id"], nombre="ONU nueva", codigo="ONU-1")
    sync_erp(erp_connection)
    assert Article.objects.count() == 1
    assert Article.objects.get().name == "ONU nueva"
    assert Article.objects.get().external_ref == article["id"]


def test_an_existing_article_with_the_same_code_is_linked_not_duplicated(erp_connection, erp_server, make_article):
    make_article("ONU-1", "Cargada a mano")
    article = erp_server.add_article(codigo="onu-1", nombre="ONU del ERP")
    sync_erp(erp_connection)
    assert Article.objects.get().external_ref == article["id"]


def test_each_approved_movement_reaches_the_erp_exactly_once(erp_connection, erp_server, stocked, central):
    movement = services.create_movement(
        kind="salida", article=stocked, warehouse=central, quantity=2, auto_approve=True
    )
    pending = services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=1)
    sync_erp(erp_connection)
    sync_erp(erp_connection)
    assert len(erp_server.movements) == 2  # the ajuste of the `stocked` fixture and the salida; never the pending one
    sent = [m for m in erp_server.movements if m["tipo"] == "salida"]
    assert len(sent) == 1
    assert sent[0]["articulo"] == "ONU-HG8145" and Decimal(sent[0]["cantidad"]) == Decimal("2")
    keys = [r.headers.get("idempotency-key") for r in erp_server.requests_for("/api/movimientos", "POST")]
    assert f"emerald-mov-{movement.pk}" in keys
    assert f"emerald-mov-{pending.pk}" not in keys


def test_movements_from_the_erp_itself_are_not_echoed_back(erp_connection, erp_server):
    article = erp_server.add_article(codigo="ONU-1", nombre="ONU")
    erp_server.set_stock(article["id"], "CENTRAL", "3")
    sync_erp(erp_connection)
    sync_erp(erp_connection)
    assert erp_server.movements == []


def test_movements_approved_before_the_connection_existed_are_not_pushed(erp_connection, erp_server, stocked):
    erp_connection.push_since = timezone.now() + timedelta(minutes=1)
    erp_connection.save()
    sync_erp(erp_connection)
    assert erp_server.movements == []


def test_one_bad_item_is_recorded_and_never_stops_the_rest(erp_connection, erp_server):
    erp_server.add_article(codigo="OK-1", nombre="Bien")
    erp_server.add_article(codigo="MAL-1", nombre="x", erp_id="ART-BAD")
    erp_server.update_article("ART-BAD", nombre="")
    erp_server.set_stock("ART-GHOST", "CENTRAL", "5")
    run = sync_erp(erp_connection)
    assert not run.ok and run.counts["articulos"] == 1 and run.counts["errores"] == 2
    errors = dict(ErpSyncRecord.objects.filter(status=SyncStatus.ERROR).values_list("external_ref", "error"))
    assert "nombre" in errors["ART-BAD"]
    assert "desconocido" in errors["ART-GHOST@CENTRAL"]
    # Fixed at the source, the item syncs on the next run and its record flips to SINCRONIZADO.
    erp_server.update_article("ART-BAD", nombre="Arreglado")
    sync_erp(erp_connection)
    record = ErpSyncRecord.objects.get(kind="articulo", external_ref="ART-BAD")
    assert record.status == SyncStatus.SYNCED and record.attempts == 1


def test_an_unknown_warehouse_is_an_item_error(erp_connection, erp_server):
    article = erp_server.add_article(codigo="ONU-1", nombre="ONU")
    erp_server.set_stock(article["id"], "MARTE", "1")
    sync_erp(erp_connection)
    assert "MARTE" in ErpSyncRecord.objects.get(kind="stock").error


def test_the_erp_being_down_fails_the_run_clearly_and_changes_nothing(erp_connection, erp_server, stocked, central):
    services.create_movement(kind="entrada", article=stocked, warehouse=central, quantity=1, auto_approve=True)
    erp_server.go_down()
    run = sync_erp(erp_connection)
    assert not run.ok
    assert "articulos" in run.error and "movimientos" in run.error
    assert not ErpSyncRecord.objects.filter(kind="movimiento").exists()
    erp_server.come_back()
    assert sync_erp(erp_connection).ok
    assert len(erp_server.movements) == 2


@pytest.mark.parametrize("mode", ["slow", "error500", "malformed"])
def test_timeouts_server_errors_and_malformed_json_fail_the_run_without_half_writes(erp_connection, erp_server, mode):
    erp_server.seed(3)
    erp_server.slow_seconds = 2
    erp_server.mode = mode
    run = sync_erp(erp_connection)
    assert not run.ok and run.error
    assert not Article.objects.exists()
    assert IntegrationLog.objects.filter(system="erp", status="error").exists()


def test_a_movement_push_that_failed_is_retried_next_run_and_lands_once(erp_connection, erp_server, stocked, central):
    services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=1, auto_approve=True)
    erp_server.fail_next(1, status=503, path="/api/movimientos")
    sync_erp(erp_connection)
    assert len(erp_server.movements) == 0
    sync_erp(erp_connection)
    assert len(erp_server.movements) == 2


def test_an_unpaged_erp_answer_is_read_too(erp_connection, erp_server):
    erp_server.paged = False
    erp_server.seed(4)
    assert sync_erp(erp_connection).ok
    assert Article.objects.count() == 4


def test_the_api_key_is_encrypted_at_rest_and_never_logged(erp_connection, erp_server):
    from django.db import connection

    erp_server.seed(1)
    sync_erp(erp_connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM integrations_erpconnection")
        assert "erp-secret-key" not in cursor.fetchone()[0]
    for entry in IntegrationLog.objects.all():
        assert "erp-secret-key" not in str(entry.request_summary) + str(entry.response_summary) + entry.error


def test_only_one_sync_runs_at_a_time(erp_connection, erp_server):
    from erp.locks import AlreadyRunningError, lock

    with lock(f"erp-sync:{erp_connection.pk}"):
        with pytest.raises(AlreadyRunningError):
            sync_erp(erp_connection)
        with pytest.raises(CommandError, match="ya hay una sincronización en curso"):
            call_command("sync_erp")


def test_the_command_syncs_every_enabled_connection(erp_connection, erp_server, capsys):
    erp_server.seed(2)
    call_command("sync_erp")
    assert "SAP" in capsys.readouterr().out
    assert Article.objects.count() == 2


def test_records_the_erp_cannot_parse_are_item_errors():
    from integrations.clients.erp import ErpRecordError, parse_article, parse_stock

    with pytest.raises(ErpRecordError, match="stock_minimo"):
        parse_article({"id": "A", "nombre": "x", "stock_minimo": "muchos"})
    with pytest.raises(ErpRecordError, match="negativa"):
        parse_stock({"articulo": "A", "deposito": "CENTRAL", "cantidad": "-1"})
    with pytest.raises(ErpRecordError, match="objeto"):
        parse_article(["not", "a", "dict"])
