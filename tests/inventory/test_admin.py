"""Staff in the admin: approve and reject movements, acknowledge alerts, import CSV with a preview, manage API keys."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from integrations.models import ExternalAPIKey
from inventory import services
from inventory.models import AlertStatus, Article, Movement, Stock, StockAlert

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def act(client, model, action, ids):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return client.post(url, {"action": action, "_selected_action": [str(i) for i in ids]}, follow=True)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_approving_from_the_admin_uses_the_same_rules_and_reports_each_failure(staff, stocked, central, admin_user):
    ok = services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=4)
    too_big = services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=50)
    response = act(staff, Movement, "approve", [ok.pk, too_big.pk])
    assert Stock.objects.get().quantity == 6
    text = " ".join(messages_of(response))
    assert "Stock insuficiente" in text and "1 movimientos aprobados" in text
    ok.refresh_from_db()
    assert ok.approved_by == admin_user


def test_rejecting_from_the_admin(staff, stocked, central):
    movement = services.create_movement(kind="entrada", article=stocked, warehouse=central, quantity=1)
    act(staff, Movement, "reject", [movement.pk])
    assert Movement.objects.get(pk=movement.pk).status == "rechazado"


def test_creating_an_invalid_movement_in_the_admin_shows_the_rule(staff, stocked, central):
    url = reverse("admin:inventory_movement_add")
    response = staff.post(
        url,
        {"kind": "transferencia", "article": stocked.pk, "warehouse": central.pk, "quantity": "1", "direction": "1"},
    )
    assert response.status_code == 200
    assert "depósito destino" in response.content.decode()
    assert not Movement.objects.filter(kind="transferencia").exists()


def test_acknowledging_an_alert(staff, stocked, central):
    services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=9, auto_approve=True)
    alert = StockAlert.objects.get()
    act(staff, StockAlert, "acknowledge", [alert.pk])
    assert StockAlert.objects.get().status == AlertStatus.ACKNOWLEDGED


def test_stock_list_filters_below_minimum(staff, stocked, central, make_article):
    services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=9, auto_approve=True)
    other = make_article("OTRO", "Otro", min_stock="1")
    services.set_stock(article=other, warehouse=central, quantity=5)
    page = staff.get(reverse("admin:inventory_stock_changelist") + "?below_min=1").content.decode()
    assert "ONU-HG8145" in page and "OTRO ·" not in page


def test_csv_import_previews_errors_then_imports_on_confirmation(staff, tmp_path, settings):
    settings.VAR_DIR = tmp_path
    url = reverse("admin:inventory_import_csv")
    upload = SimpleUploadedFile("a.csv", b"codigo,nombre,material,diametro\nA1,Uno,PVC,10\nA2,,PVC,x\n")
    preview = staff.post(url, {"file": upload, "kind": "articulos", "encoding": "utf-8", "on_error": "skip"})
    page = preview.content.decode()
    assert "Valor obligatorio" in page and "Confirmar importación" in page
    assert not Article.objects.exists()
    token = preview.context["token"]
    done = staff.post(
        url,
        {"token": token, "kind": "articulos", "encoding": "utf-8", "on_error": "skip", "delimiter": ""},
        follow=True,
    )
    assert list(Article.objects.values_list("code", flat=True)) == ["A1"]
    assert "Importación terminada" in " ".join(messages_of(done))
    assert not list((tmp_path / "imports").iterdir())  # the upload is not kept


def test_csv_import_in_abort_mode_offers_no_confirmation_when_rows_are_bad(staff, tmp_path, settings):
    settings.VAR_DIR = tmp_path
    upload = SimpleUploadedFile("a.csv", b"nombre,material,diametro\n,PVC,x\n")
    page = staff.post(
        reverse("admin:inventory_import_csv"),
        {"file": upload, "kind": "articulos", "encoding": "utf-8", "on_error": "abort"},
    )
    assert "Confirmar importación" not in page.content.decode()


def test_a_tampered_import_token_is_refused(staff):
    response = staff.post(
        reverse("admin:inventory_import_csv"), {"token": "../../etc/passwd", "kind": "articulos"}, follow=True
    )
    assert "venció" in " ".join(messages_of(response))


def test_an_api_key_is_shown_once_when_created_and_can_be_revoked(staff):
    response = staff.post(
        reverse("admin:integrations_externalapikey_add"),
        {"name": "SAP", "system": "SAP ERP", "scopes": ["read", "write"], "rate": "1000/hour"},
        follow=True,
    )
    row = ExternalAPIKey.objects.get()
    shown = " ".join(messages_of(response))
    assert f"{row.prefix}." in shown and "no se volverá a mostrar" in shown
    assert row.scopes == ["read", "write"]
    later = staff.get(reverse("admin:integrations_externalapikey_change", args=[row.pk])).content.decode()
    assert shown.split("es: ")[1].split(" ")[0] not in later
    act(staff, ExternalAPIKey, "revoke", [row.pk])
    assert ExternalAPIKey.objects.get().revoked


def test_a_bad_rate_is_refused_in_the_admin(staff):
    response = staff.post(
        reverse("admin:integrations_externalapikey_add"),
        {"name": "X", "system": "Y", "scopes": ["read"], "rate": "mucho"},
    )
    assert "cantidad/período" in response.content.decode()
    assert not ExternalAPIKey.objects.exists()


def test_the_dashboard_shows_pending_movements_and_open_alerts(staff, stocked, central):
    services.create_movement(kind="salida", article=stocked, warehouse=central, quantity=9, auto_approve=True)
    services.create_movement(kind="entrada", article=stocked, warehouse=central, quantity=1)
    page = staff.get(reverse("admin:index"))
    panel = next(p for p in page.context["dashboard_panels"] if p["key"] == "inventory")
    assert (panel["pending_movements"], panel["open_alerts"]) == (1, 1)
    assert "ONU-HG8145" in page.content.decode()
