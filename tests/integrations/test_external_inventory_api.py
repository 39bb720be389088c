"""The ERP's view of inventory: articles, stock, movements with approval and a report, over the API-key API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Article, Movement, Stock

pytestmark = pytest.mark.django_db


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def post(client, path, data, **headers):
    return client.post(path, data, format="json", headers=headers or None)


# ----------------------------------------------------------------------------- articles


def test_an_erp_lists_articles_with_their_stock(erp_client, stocked):
    rows = results(erp_client.get("/api/external/articulos/"))
    assert rows[0]["code"] == "ONU-HG8145"
    assert rows[0]["stock"] == [{"deposito": "CENTRAL", "cantidad": "10.000"}]


@pytest.mark.parametrize(
    "query,expected",
    [
        ("code=onu-hg8145", ["ONU-HG8145"]),
        ("category=onu", ["ONU-HG8145"]),
        ("material=PVC", ["CANO-110"]),
        ("active=false", ["VIEJO"]),
        ("search=caño", ["CANO-110"]),
        ("ordering=-code", ["VIEJO", "ONU-HG8145", "CANO-110"]),
    ],
)
def test_articles_filter_and_order(erp_client, onu, make_article, query, expected):
    make_article("CANO-110", "caño PVC 110", material="PVC", diameter_mm=110)
    make_article("VIEJO", "Router viejo", active=False)
    assert [r["code"] for r in results(erp_client.get(f"/api/external/articulos/?{query}"))] == expected


def test_updated_since_returns_only_recent_changes(erp_client, onu, make_article):
    Article.objects.filter(pk=onu.pk).update(updated_at=timezone.now() - timedelta(days=3))
    make_article("NUEVO", "Nuevo")
    since = (timezone.now() - timedelta(days=1)).isoformat()
    rows = results(erp_client.get("/api/external/articulos/", {"updated_since": since}))
    assert [r["code"] for r in rows] == ["NUEVO"]


def test_an_erp_creates_and_patches_an_article_by_code(erp_client):
    created = post(erp_client, "/api/external/articulos/", {"code": "fo-1km", "name": "Fibra 1 km", "unit": "m"})
    assert created.status_code == 201
    assert created.json()["code"] == "FO-1KM"
    patched = erp_client.patch("/api/external/articulos/fo-1km/", {"min_stock": "2"}, format="json")
    assert patched.status_code == 200
    assert patched.json()["min_stock"] == "2.000"
    assert erp_client.get("/api/external/articulos/FO-1KM/").json()["name"] == "Fibra 1 km"


def test_creating_an_existing_code_is_a_409(erp_client, onu):
    response = post(erp_client, "/api/external/articulos/", {"code": "onu-hg8145", "name": "Otra"})
    assert response.status_code == 409
    assert response.json()["code"] == "ARTICLE_EXISTS"


def test_invalid_article_fields_come_back_as_field_details(erp_client):
    response = post(erp_client, "/api/external/articulos/", {"code": "", "min_stock": "-1", "diameter_mm": "abc"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert {"code", "name", "min_stock", "diameter_mm"} <= set(body["details"])
    assert not Article.objects.exists()


def test_unknown_article_is_a_404(erp_client, db):
    response = erp_client.get("/api/external/articulos/NADA/")
    assert response.status_code == 404
    assert response.json()["success"] is False


# ----------------------------------------------------------------------------- movements and stock


def test_the_erp_flow_from_movement_to_low_stock_alert(erp_client, stocked):
    """List, create a movement, approve it, see stock fall below the minimum and find it in below_min."""
    created = post(
        erp_client,
        "/api/external/movimientos/",
        {"kind": "salida", "article": "onu-hg8145", "quantity": "7", "reference": "OT-42"},
    )
    assert created.status_code == 201
    movement = created.json()
    assert movement["status"] == "pendiente"
    assert movement["created_by"].startswith("api-key:")
    approved = post(erp_client, f"/api/external/movimientos/{movement['id']}/aprobar/", {})
    assert approved.status_code == 200
    assert approved.json()["status"] == "aprobado"
    below = results(erp_client.get("/api/external/stock/?below_min=true"))
    assert below == [
        {
            "article": "ONU-HG8145",
            "article_name": "ONU Huawei HG8145V5",
            "warehouse": "CENTRAL",
            "quantity": "3.000",
            "min_stock": "5.000",
            "below_min": True,
            "updated_at": below[0]["updated_at"],
        }
    ]
    assert results(erp_client.get("/api/external/stock/?below_min=false")) == []


def test_approving_more_than_the_stock_is_a_409_and_nothing_changes(erp_client, stocked):
    movement = post(
        erp_client, "/api/external/movimientos/", {"kind": "salida", "article": "ONU-HG8145", "quantity": "11"}
    ).json()
    response = post(erp_client, f"/api/external/movimientos/{movement['id']}/aprobar/", {})
    assert response.status_code == 409
    assert response.json()["code"] == "INSUFFICIENT_STOCK"
    assert Stock.objects.get().quantity == 10


def test_rejecting_keeps_stock_and_records_the_reason(erp_client, stocked):
    movement = post(
        erp_client, "/api/external/movimientos/", {"kind": "salida", "article": "ONU-HG8145", "quantity": "1"}
    ).json()
    rejected = post(erp_client, f"/api/external/movimientos/{movement['id']}/rechazar/", {"reason": "duplicado"})
    assert rejected.json()["status"] == "rechazado"
    assert rejected.json()["rejection_reason"] == "duplicado"
    assert post(erp_client, f"/api/external/movimientos/{movement['id']}/aprobar/", {}).status_code == 409


def test_approving_needs_the_approve_scope(make_key, stocked):
    from rest_framework.test import APIClient

    _, key = make_key(scopes=["read", "write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"ApiKey {key}")
    movement = post(
        client, "/api/external/movimientos/", {"kind": "entrada", "article": "ONU-HG8145", "quantity": "1"}
    ).json()
    assert post(client, f"/api/external/movimientos/{movement['id']}/aprobar/", {}).status_code == 403


def test_a_key_with_auto_approve_applies_movements_at_once(make_key, stocked):
    from rest_framework.test import APIClient

    _, key = make_key(scopes=["read", "write"], auto_approve=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"ApiKey {key}")
    response = post(client, "/api/external/movimientos/", {"kind": "salida", "article": "ONU-HG8145", "quantity": "2"})
    assert response.json()["status"] == "aprobado"
    assert Stock.objects.get().quantity == 8


@pytest.mark.parametrize(
    "payload,status,code",
    [
        ({"kind": "salida", "article": "ONU-HG8145", "quantity": "0"}, 400, "VALIDATION_ERROR"),
        ({"kind": "salida", "article": "ONU-HG8145", "quantity": "-3"}, 400, "VALIDATION_ERROR"),
        ({"kind": "salida", "article": "ONU-HG8145", "quantity": "muchos"}, 400, "VALIDATION_ERROR"),
        ({"kind": "robo", "article": "ONU-HG8145", "quantity": "1"}, 400, "VALIDATION_ERROR"),
        ({"kind": "salida", "article": "NO-EXISTE", "quantity": "1"}, 404, "UNKNOWN_ARTICLE"),
        ({"kind": "salida", "article": "ONU-HG8145", "warehouse": "LUNA", "quantity": "1"}, 404, "UNKNOWN_WAREHOUSE"),
        ({"kind": "transferencia", "article": "ONU-HG8145", "quantity": "1"}, 400, "INVALID_MOVEMENT"),
        ({"article": "ONU-HG8145", "quantity": "1"}, 400, "VALIDATION_ERROR"),
        ([1, 2, 3], 400, "VALIDATION_ERROR"),
    ],
)
def test_bad_movements_get_a_specific_error_and_write_nothing(erp_client, stocked, payload, status, code):
    before = Movement.objects.count()
    response = post(erp_client, "/api/external/movimientos/", payload)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert Movement.objects.count() == before


def test_malformed_json_is_a_400(erp_client, db):
    response = erp_client.post("/api/external/movimientos/", data="{oops", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_REQUEST"


@pytest.mark.parametrize("query", ["kind=robo", "status=perdido", "date_from=ayer", "below_min=quizas"])
def test_unknown_filter_values_are_400_not_ignored(erp_client, db, query):
    path = "/api/external/stock/" if "below_min" in query else "/api/external/movimientos/"
    response = erp_client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_oversized_pages_are_refused(erp_client, db):
    response = erp_client.get("/api/external/articulos/?page_size=100000")
    assert response.status_code == 400
    assert "page_size" in response.json()["details"]


def test_movements_filter_by_kind_status_article_and_dates(erp_client, stocked, make_article):
    other = make_article("CANO-110", "Caño")
    post(erp_client, "/api/external/movimientos/", {"kind": "entrada", "article": other.code, "quantity": "1"})
    rows = results(erp_client.get("/api/external/movimientos/?article=onu-hg8145&kind=ajuste&status=aprobado"))
    assert [(r["article"], r["kind"]) for r in rows] == [("ONU-HG8145", "ajuste")]
    tomorrow = (timezone.now() + timedelta(days=1)).isoformat()
    assert results(erp_client.get("/api/external/movimientos/", {"date_from": tomorrow})) == []


# ----------------------------------------------------------------------------- idempotency and report


def test_the_same_idempotency_key_and_body_replays_without_acting_again(erp_client, stocked):
    body = {"kind": "salida", "article": "ONU-HG8145", "quantity": "1"}
    first = post(erp_client, "/api/external/movimientos/", body, **{"Idempotency-Key": "sap-doc-1"})
    again = post(erp_client, "/api/external/movimientos/", body, **{"Idempotency-Key": "sap-doc-1"})
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Movement.objects.filter(kind="salida").count() == 1


def test_the_same_idempotency_key_with_another_body_is_a_422(erp_client, stocked):
    post(
        erp_client,
        "/api/external/movimientos/",
        {"kind": "salida", "article": "ONU-HG8145", "quantity": "1"},
        **{"Idempotency-Key": "k1"},
    )
    response = post(
        erp_client,
        "/api/external/movimientos/",
        {"kind": "salida", "article": "ONU-HG8145", "quantity": "2"},
        **{"Idempotency-Key": "k1"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert Movement.objects.filter(kind="salida").count() == 1


def test_a_failed_request_does_not_pin_its_idempotency_key(erp_client, stocked):
    body = {"kind": "salida", "article": "ONU-HG8145", "quantity": "1"}
    movement = post(erp_client, "/api/external/movimientos/", {**body, "quantity": "50"}).json()
    failed = post(erp_client, f"/api/external/movimientos/{movement['id']}/aprobar/", {}, **{"Idempotency-Key": "a1"})
    assert failed.status_code == 409
    from inventory import services

    services.set_stock(article=stocked, warehouse=stocked.stock.get().warehouse, quantity=60)
    retried = post(erp_client, f"/api/external/movimientos/{movement['id']}/aprobar/", {}, **{"Idempotency-Key": "a1"})
    assert retried.status_code == 200


def test_the_report_sums_stock_deficits_and_movements_per_day(erp_client, stocked, north):
    post(erp_client, "/api/external/movimientos/", {"kind": "salida", "article": "ONU-HG8145", "quantity": "8"})
    movement = Movement.objects.get(kind="salida")
    post(erp_client, f"/api/external/movimientos/{movement.pk}/aprobar/", {})
    report = erp_client.get("/api/external/reportes/").json()
    assert report["articulos"] == {"total": 1, "activos": 1}
    assert report["stock_por_deposito"] == [{"deposito": "CENTRAL", "nombre": "Depósito central", "unidades": "2.000"}]
    assert report["bajo_minimo"][0]["deficit"] == "3.000"
    today = timezone.localdate().isoformat()
    assert report["movimientos_por_dia"] == [
        {"fecha": today, "total": 2, "aprobados": 2, "pendientes": 0, "rechazados": 0}
    ]


def test_the_report_refuses_an_inverted_window(erp_client, db):
    response = erp_client.get("/api/external/reportes/?date_from=2026-02-01&date_to=2026-01-01")
    assert response.status_code == 400
