"""ERP pushes over signed inbound webhooks: a good signature updates inventory, a bad one changes nothing."""

import pytest

from integrations.models import InboundEvent, InboundStatus
from inventory.models import Article, Movement, Stock
from tests.fixtures.integrations import push_body, standard_headers

pytestmark = pytest.mark.django_db

URL = "/api/webhooks/inbound/erp/"


@pytest.fixture
def push(anon_client, django_capture_on_commit_callbacks, inbound_source, central):
    def _push(event_type, data, *, msg_id="msg_erp_1", headers=None):
        body = push_body(data, event_type=event_type)
        with django_capture_on_commit_callbacks(execute=True):
            return anon_client.post(
                URL,
                data=body,
                content_type="application/json",
                headers=headers or standard_headers(body, msg_id=msg_id),
            )

    return _push


ARTICLE = {"id": "ART-9", "codigo": "ONU-9", "nombre": "ONU nueva", "stock_minimo": "3", "categoria": "ONU"}


def test_a_signed_article_push_creates_the_article(push):
    assert push("erp.articulos", {"articulos": [ARTICLE]}).status_code == 202
    article = Article.objects.get()
    assert (article.code, article.external_ref, article.min_stock) == ("ONU-9", "ART-9", 3)
    assert InboundEvent.objects.get().status == InboundStatus.PROCESSED


def test_a_signed_stock_push_sets_stock_through_an_ajuste(push):
    push("erp.articulos", [ARTICLE], msg_id="m1")
    push("erp.stock", [{"articulo": "ART-9", "deposito": "CENTRAL", "cantidad": "12"}], msg_id="m2")
    assert Stock.objects.get().quantity == 12
    assert Movement.objects.get().kind == "ajuste"


def test_a_badly_signed_push_changes_nothing(push):
    body = push_body([ARTICLE], event_type="erp.articulos")
    headers = standard_headers(body)
    headers["webhook-signature"] = "v1,AAAA" + headers["webhook-signature"][7:]
    response = push("erp.articulos", [ARTICLE], headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_SIGNATURE"
    assert not Article.objects.exists() and not InboundEvent.objects.exists()


def test_a_replayed_push_is_applied_once(push):
    push("erp.stock", [], msg_id="m0")
    push("erp.articulos", [ARTICLE], msg_id="same")
    push("erp.articulos", [{**ARTICLE, "nombre": "cambiado"}], msg_id="same")
    assert Article.objects.get().name == "ONU nueva"


def test_a_push_with_bad_records_is_marked_error_with_the_reason(push):
    push("erp.stock", [{"articulo": "NADA", "deposito": "CENTRAL", "cantidad": "1"}])
    event = InboundEvent.objects.get()
    assert event.status == InboundStatus.ERROR and "registros con error" in event.error
    assert not Stock.objects.exists()
