"""Specification of the two HTTP test emulators: the external ERP and the webhook receiver.

Everything talks to 127.0.0.1 only, through a requests.Session that ignores proxy variables.
Run: .venv/bin/python -m pytest tests/emulators/test_http_emulators.py -p no:django -p no:cacheprovider -q
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from standardwebhooks import Webhook

from tests.emulators.erp import MALFORMED_BODY, ErpEmulator
from tests.emulators.webhook_receiver import WebhookReceiver, emerald_signature, whsec_key_bytes

REPO_ROOT = Path(__file__).resolve().parents[2]
API_KEY = "erp-secret-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"old-secret-old-secret-old-secret").decode()
MOVEMENT = {"tipo": "SALIDA", "articulo": "ART-0001", "cantidad": "2.50", "fecha": "2026-01-08T10:30:00+00:00"}


@pytest.fixture
def http():
    session = requests.Session()
    session.trust_env = False  # never route loopback traffic through a proxy from the environment
    yield session
    session.close()


@pytest.fixture
def erp():
    with ErpEmulator(page_size=10) as emulator:
        yield emulator


@pytest.fixture
def receiver():
    with WebhookReceiver(secret=SECRET) as emulator:
        yield emulator


def signed(body: bytes, *secrets: str, msg_id: str | None = None, when: datetime | None = None) -> dict[str, str]:
    """Standard Webhooks headers built with the independent library (one signature per secret)."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    when = when or datetime.now(UTC)
    signatures = " ".join(Webhook(s).sign(msg_id, when, body.decode()) for s in secrets or (SECRET,))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signatures,
        "Content-Type": "application/json",
    }


def event_body(n: int = 1) -> bytes:
    return json.dumps({"type": "stock.low", "timestamp": "2026-01-08T10:30:00Z", "data": {"n": n}}).encode()


def start_cli(module: str, *args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+\S*", line)
    if not match:
        proc.kill()
        raise AssertionError(f"no URL in {line!r}; stderr: {proc.stderr.read()}")
    return proc, match.group(0)


# ---------------------------------------------------------------------------------------
# ERP: data endpoints
# ---------------------------------------------------------------------------------------


def test_following_next_links_walks_every_article_exactly_once(erp, http):
    erp.seed(23)
    url, seen, pages = f"{erp.url}/api/articulos", [], 0
    while url:
        page = http.get(url, headers=AUTH, timeout=5).json()
        assert page["count"] == 23
        seen += [a["id"] for a in page["results"]]
        url, pages = page["next"], pages + 1
        assert url is None or url.startswith(erp.url)  # absolute links
    assert pages == 3
    assert seen == [f"ART-{i:04d}" for i in range(1, 24)]


def test_page_and_page_size_query_parameters_are_honoured_and_a_page_past_the_end_is_404(erp, http):
    erp.seed(7)
    page = http.get(f"{erp.url}/api/articulos", params={"page": 2, "page_size": 3}, headers=AUTH).json()
    assert [a["id"] for a in page["results"]] == ["ART-0004", "ART-0005", "ART-0006"]
    assert page["next"].endswith("page_size=3&page=3")
    assert page["previous"].endswith("page_size=3&page=1")
    assert http.get(f"{erp.url}/api/articulos", params={"page": 9}, headers=AUTH).status_code == 404


def test_an_unpaged_erp_answers_a_plain_json_list(http):
    with ErpEmulator(paged=False) as erp:
        erp.seed(60)
        body = http.get(f"{erp.url}/api/articulos", headers=AUTH).json()
    assert isinstance(body, list) and len(body) == 60


def test_articles_carry_the_fields_the_synchroniser_maps(erp, http):
    erp.add_article("TUB-110", "Tubería PVC 110 mm", material="PVC", diametro=110)
    erp.add_article("CINTA", "Cinta aisladora", categoria="Insumos", material="Plástico")
    first, second = http.get(f"{erp.url}/api/articulos", headers=AUTH).json()["results"]
    assert set(first) == {
        "id",
        "codigo",
        "nombre",
        "categoria",
        "unidad",
        "material",
        "diametro",
        "stock_minimo",
        "activo",
        "actualizado",
    }
    assert (first["id"], first["codigo"], first["diametro"], first["stock_minimo"]) == (
        "ART-0001",
        "TUB-110",
        "110.00",
        "5",
    )
    assert first["activo"] is True and first["unidad"] == "un"
    assert datetime.fromisoformat(first["actualizado"]).tzinfo is not None
    assert second["diametro"] is None


def test_an_updated_article_gets_a_later_timestamp_and_is_found_by_actualizado_desde(erp, http):
    erp.seed(3)
    before = erp.articles[1]["actualizado"]
    updated = erp.update_article("ART-0002", nombre="Renombrado", activo=False)
    assert updated["actualizado"] > before
    rows = http.get(
        f"{erp.url}/api/articulos", params={"actualizado_desde": updated["actualizado"]}, headers=AUTH
    ).json()
    assert [(a["id"], a["nombre"], a["activo"]) for a in rows["results"]] == [("ART-0002", "Renombrado", False)]


def test_stock_rows_point_at_erp_article_ids_per_warehouse_and_page_the_same_way(erp, http):
    erp.add_article("TUB-110", diametro=110)
    erp.set_stock("ART-0001", "CENTRAL", 12.5)
    erp.set_stock("ART-0001", "NORTE", "3")
    erp.seed(9)  # 9 more articles x 2 warehouses
    page = http.get(f"{erp.url}/api/stock", headers=AUTH).json()
    assert page["count"] == 20 and len(page["results"]) == 10 and page["next"]
    assert page["results"][:2] == [
        {"articulo": "ART-0001", "codigo": "TUB-110", "deposito": "CENTRAL", "cantidad": "12.50"},
        {"articulo": "ART-0001", "codigo": "TUB-110", "deposito": "NORTE", "cantidad": "3.00"},
    ]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Token {API_KEY}"}])
def test_every_endpoint_requires_the_bearer_api_key_and_answers_401_json_otherwise(erp, http, headers):
    for method, path in [("GET", "/api/articulos"), ("GET", "/api/stock"), ("POST", "/api/movimientos")]:
        response = http.request(method, f"{erp.url}{path}", headers=headers, json=MOVEMENT)
        assert response.status_code == 401
        assert "detail" in response.json()
    assert erp.movements == []


# ---------------------------------------------------------------------------------------
# ERP: movements and idempotency
# ---------------------------------------------------------------------------------------


def test_a_posted_movement_is_stored_and_answered_201_with_an_erp_id(erp, http):
    response = http.post(f"{erp.url}/api/movimientos", json=MOVEMENT, headers=AUTH)
    assert response.status_code == 201
    assert response.json()["id"] == "MOV-1"
    assert [{k: m[k] for k in MOVEMENT} for m in erp.movements] == [MOVEMENT]


def test_repeating_a_movement_with_the_same_idempotency_key_answers_the_first_response_and_stores_once(erp, http):
    headers = {**AUTH, "Idempotency-Key": "mov-42"}
    first = http.post(f"{erp.url}/api/movimientos", json=MOVEMENT, headers=headers)
    again = http.post(f"{erp.url}/api/movimientos", json=MOVEMENT, headers=headers)
    other = http.post(f"{erp.url}/api/movimientos", json=MOVEMENT, headers={**AUTH, "Idempotency-Key": "mov-43"})
    assert again.status_code in (200, 201) and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.json()["id"] != first.json()["id"]
    assert [m["idempotency_key"] for m in erp.movements] == ["mov-42", "mov-43"]


def test_concurrent_retries_with_one_idempotency_key_still_store_a_single_movement(erp, http):
    def post(_):
        s = requests.Session()
        s.trust_env = False
        return s.post(f"{erp.url}/api/movimientos", json=MOVEMENT, headers={**AUTH, "Idempotency-Key": "same"}).json()[
            "id"
        ]

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(post, range(16)))
    assert ids == {"MOV-1"} and len(erp.movements) == 1


def test_reusing_an_idempotency_key_with_a_different_payload_is_rejected_with_422(erp, http):
    headers = {**AUTH, "Idempotency-Key": "k"}
    http.post(f"{erp.url}/api/movimientos", json=MOVEMENT, headers=headers)
    response = http.post(f"{erp.url}/api/movimientos", json={**MOVEMENT, "cantidad": "9"}, headers=headers)
    assert response.status_code == 422 and len(erp.movements) == 1


def test_a_movement_with_missing_or_invalid_fields_is_rejected_with_400_json_naming_them(erp, http):
    response = http.post(f"{erp.url}/api/movimientos", json={"tipo": "SALIDA", "cantidad": "x"}, headers=AUTH)
    assert response.status_code == 400
    assert set(response.json()) == {"articulo", "cantidad", "fecha"}
    assert http.post(f"{erp.url}/api/movimientos", data=b"{not json", headers=AUTH).status_code == 400
    assert erp.movements == []


def test_a_strict_erp_rejects_movements_for_unknown_articles():
    with ErpEmulator(strict_articles=True) as erp:
        erp.seed(1)
        s = requests.Session()
        s.trust_env = False
        assert (
            s.post(f"{erp.url}/api/movimientos", json={**MOVEMENT, "articulo": "NOPE"}, headers=AUTH).status_code == 400
        )
        assert s.post(f"{erp.url}/api/movimientos", json=MOVEMENT, headers=AUTH).status_code == 201


def test_every_raw_request_is_recorded_with_method_path_headers_and_body(erp, http):
    http.get(f"{erp.url}/api/articulos?page=1", headers=AUTH)
    http.post(f"{erp.url}/api/movimientos", json=MOVEMENT, headers={**AUTH, "Idempotency-Key": "abc"})
    http.get(f"{erp.url}/api/stock")  # unauthenticated, still recorded
    get, post, anonymous = erp.requests
    assert (get.method, get.path, get.query, get.status) == ("GET", "/api/articulos", {"page": "1"}, 200)
    assert post.headers["idempotency-key"] == "abc" and post.json() == MOVEMENT and post.status == 201
    assert anonymous.status == 401
    assert erp.requests_for("/api/movimientos", "POST") == [post]


# ---------------------------------------------------------------------------------------
# ERP: fault modes
# ---------------------------------------------------------------------------------------


def test_down_refuses_connections_and_come_back_listens_again_on_the_same_port(erp, http):
    port = erp.port
    erp.mode = "down"
    assert not erp.is_up
    with pytest.raises(requests.ConnectionError):
        http.get(f"{erp.url}/api/articulos", headers=AUTH, timeout=2)
    erp.come_back()
    assert erp.port == port and erp.mode == "ok"
    assert http.get(f"{erp.url}/api/articulos", headers=AUTH, timeout=2).status_code == 200
    erp.go_down()
    assert erp.mode == "down"
    erp.mode = "ok"  # leaving "down" through the mode also listens again
    assert http.get(f"{erp.url}/api/articulos", headers=AUTH, timeout=2).status_code == 200


def test_going_down_also_cuts_kept_alive_connections(erp, http):
    assert http.get(f"{erp.url}/api/articulos", headers=AUTH).status_code == 200  # connection now pooled
    erp.go_down()
    with pytest.raises(requests.ConnectionError):
        http.get(f"{erp.url}/api/articulos", headers=AUTH, timeout=2)


def test_slow_mode_makes_a_client_with_a_one_second_timeout_time_out(erp, http):
    erp.mode = "slow"
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        http.get(f"{erp.url}/api/articulos", headers=AUTH, timeout=1)
    assert time.monotonic() - started < 2.5


def test_a_movement_whose_answer_timed_out_was_stored_and_its_keyed_retry_does_not_duplicate_it(erp, http):
    headers = {**AUTH, "Idempotency-Key": "slow-1"}
    erp.mode = "slow"
    with pytest.raises(requests.Timeout):
        http.post(f"{erp.url}/api/movimientos", json=MOVEMENT, headers=headers, timeout=1)
    assert len(erp.movements) == 1
    erp.mode = "ok"
    retry = http.post(f"{erp.url}/api/movimientos", json=MOVEMENT, headers=headers, timeout=2)
    assert retry.json()["id"] == erp.movements[0]["id"] and len(erp.movements) == 1


def test_error500_mode_answers_500_with_a_body_and_processes_nothing(erp, http):
    erp.mode = "error500"
    response = http.post(f"{erp.url}/api/movimientos", json=MOVEMENT, headers=AUTH)
    assert response.status_code == 500 and response.json()["detail"]
    assert erp.movements == []


def test_malformed_mode_answers_200_json_that_does_not_parse(erp, http):
    erp.seed(2)
    erp.mode = "malformed"
    response = http.get(f"{erp.url}/api/articulos", headers=AUTH)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert response.content == MALFORMED_BODY
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()


def test_fail_next_fails_only_the_next_n_requests_so_the_next_run_succeeds(erp, http):
    erp.seed(1)
    erp.fail_next(2, status=503, retry_after=7)
    statuses = [http.get(f"{erp.url}/api/articulos", headers=AUTH) for _ in range(3)]
    assert [r.status_code for r in statuses] == [503, 503, 200]
    assert statuses[0].headers["Retry-After"] == "7"


def test_fail_next_can_target_one_path(erp, http):
    erp.fail_next(1, status=500, path="/api/stock")
    assert http.get(f"{erp.url}/api/articulos", headers=AUTH).status_code == 200
    assert http.get(f"{erp.url}/api/stock", headers=AUTH).status_code == 500
    assert http.get(f"{erp.url}/api/stock", headers=AUTH).status_code == 200


def test_reset_forgets_data_requests_and_faults_and_listens_again(erp, http):
    erp.seed(3)
    http.post(f"{erp.url}/api/movimientos", json=MOVEMENT, headers=AUTH)
    erp.fail_next(5)
    erp.go_down()
    erp.reset()
    assert erp.is_up and erp.mode == "ok"
    assert (erp.articles, erp.stock, erp.movements, erp.requests) == ([], [], [], [])
    assert http.get(f"{erp.url}/api/articulos", headers=AUTH).json()["count"] == 0
    erp.seed(1)
    assert erp.articles[0]["id"] == "ART-0001"


def test_unknown_modes_are_refused(erp):
    with pytest.raises(ValueError):
        erp.mode = "flaky"


def test_the_erp_runs_standalone_and_prints_where_it_listens(http):
    proc, url = start_cli("tests.emulators.erp", "--articles", "4", "--page-size", "3")
    try:
        page = http.get(f"{url}/api/articulos", headers=AUTH, timeout=5).json()
        assert page["count"] == 4 and len(page["results"]) == 3
    finally:
        proc.terminate()
        proc.wait(5)


# ---------------------------------------------------------------------------------------
# Webhook receiver
# ---------------------------------------------------------------------------------------


def test_the_receiver_accepts_and_records_a_request_signed_with_standardwebhooks(receiver, http):
    body = event_body()
    headers = signed(body, msg_id="msg_1")
    response = http.post(receiver.url, data=body, headers=headers)
    assert response.status_code == 200
    [delivery] = receiver.accepted
    assert delivery.verified and delivery.status == 200 and delivery.body == body
    assert delivery.json["type"] == "stock.low" and delivery.webhook_id == "msg_1"
    assert delivery.headers["webhook-signature"] == headers["webhook-signature"]  # lower-case keys
    assert delivery.received_at == pytest.approx(time.time(), abs=5) and delivery.received_monotonic > 0
    assert receiver.url.endswith("/hook")


def test_the_receiver_rejects_a_tampered_body_with_401_and_records_it(receiver, http):
    body = event_body()
    headers = signed(body)
    response = http.post(receiver.url, data=body.replace(b'"n": 1', b'"n": 2'), headers=headers)
    assert response.status_code == 401
    [delivery] = receiver.all
    assert not delivery.verified and "No matching signature" in delivery.verify_error
    assert receiver.accepted == [] and receiver.unique_ids() == set()


def test_during_secret_rotation_any_one_of_the_space_separated_signatures_is_enough(http):
    body = event_body()
    headers = signed(body, OLD_SECRET, SECRET)
    assert " " in headers["webhook-signature"]
    for secret in (SECRET, OLD_SECRET):
        with WebhookReceiver(secret=secret) as receiver:
            assert http.post(receiver.url, data=body, headers=headers).status_code == 200
    stranger = "whsec_" + base64.b64encode(b"s" * 32).decode()
    with WebhookReceiver(secret=stranger) as receiver:
        assert http.post(receiver.url, data=body, headers=headers).status_code == 401


@pytest.mark.parametrize(
    "mangle",
    [
        lambda h: h.pop("webhook-signature"),
        lambda h: h.update({"webhook-signature": "garbage"}),
        lambda h: h.update({"webhook-signature": "v1,a,b"}),
        lambda h: h.update({"webhook-signature": "v1,%%%notbase64"}),
        lambda h: h.update({"webhook-timestamp": "yesterday"}),
    ],
    ids=["missing", "garbage", "too-many-commas", "bad-base64", "bad-timestamp"],
)
def test_missing_or_garbage_signature_headers_are_answered_401_not_a_server_error(receiver, http, mangle):
    body = event_body()
    headers = signed(body)
    mangle(headers)
    assert http.post(receiver.url, data=body, headers=headers).status_code == 401
    assert receiver.server_errors == []


def test_a_timestamp_outside_the_five_minute_tolerance_is_rejected(receiver, http):
    body = event_body()
    old = http.post(receiver.url, data=body, headers=signed(body, when=datetime.now(UTC) - timedelta(minutes=10)))
    assert old.status_code == 401 and "too old" in receiver.all[0].verify_error


def test_a_lenient_receiver_accepts_and_records_unverified_deliveries_unless_in_unverified_mode(http):
    body = event_body()
    with WebhookReceiver(secret=SECRET, reject_unverified=False) as receiver:
        assert http.post(receiver.url, data=body, headers={"webhook-id": "x"}).status_code == 200
        assert receiver.accepted[0].verified is False
        receiver.mode = "unverified"
        assert http.post(receiver.url, data=body, headers={"webhook-id": "y"}).status_code == 401


def test_the_hex_signature_is_checked_with_the_decoded_whsec_key_bytes(http):
    body = event_body()
    key = whsec_key_bytes(SECRET)
    assert key == b"0123456789abcdef0123456789abcdef"
    good = {**signed(body), "X-Emerald-Signature": emerald_signature(key, body)}
    bad = {**signed(body), "X-Emerald-Signature": emerald_signature(b"other", body)}
    with WebhookReceiver(secret=SECRET, hex_key_bytes=key) as receiver:
        assert http.post(receiver.url, data=body, headers=good).status_code == 200
        assert http.post(receiver.url, data=body, headers=bad).status_code == 200  # recorded, not required
        assert [w.hex_verified for w in receiver.all] == [True, False]
    with WebhookReceiver(secret=SECRET, hex_secret=True, require_hex=True) as receiver:
        assert receiver.hex_key == key
        assert http.post(receiver.url, data=body, headers=good).status_code == 200
        assert http.post(receiver.url, data=body, headers=bad).status_code == 401
    with WebhookReceiver(secret=SECRET) as receiver:
        http.post(receiver.url, data=body, headers=good)
        assert receiver.all[0].hex_verified is None  # no hex key configured


def test_a_fixed_seed_failure_rate_of_30_percent_fails_about_30_percent_of_200_deliveries_reproducibly(http):
    def run() -> list[int]:
        with WebhookReceiver(secret=SECRET, failure_rate=0.3, seed=1234, status_on_failure=503) as receiver:
            statuses = []
            for i in range(200):
                body = event_body(i)
                statuses.append(http.post(receiver.url, data=body, headers=signed(body, msg_id=f"msg_{i}")).status_code)
            assert len(receiver.all) == 200 and len(receiver.accepted) == statuses.count(200)
            return statuses

    first = run()
    assert set(first) == {200, 503}
    assert 0.2 <= first.count(503) / 200 <= 0.4
    assert run() == first


def test_gone_mode_answers_410_to_every_delivery(receiver, http):
    receiver.mode = "gone"
    body = event_body()
    assert http.post(receiver.url, data=body, headers=signed(body)).status_code == 410
    assert receiver.accepted == [] and receiver.all[0].status == 410


def test_error_mode_answers_500_even_to_valid_deliveries(receiver, http):
    receiver.mode = "error"
    body = event_body()
    assert http.post(receiver.url, data=body, headers=signed(body)).status_code == 500


def test_slow_mode_times_out_the_sender_but_the_delivery_was_received(receiver, http):
    receiver.mode = "slow"
    body = event_body()
    with pytest.raises(requests.Timeout):
        http.post(receiver.url, data=body, headers=signed(body), timeout=1)
    assert len(receiver.accepted) == 1


def test_retries_of_one_event_are_deduplicated_by_webhook_id(receiver, http):
    body = event_body()
    for _ in range(3):  # same id, fresh timestamp each attempt, as the spec requires
        http.post(receiver.url, data=body, headers=signed(body, msg_id="msg_dup"))
    http.post(receiver.url, data=body, headers=signed(body, msg_id="msg_other"))
    assert receiver.unique_ids() == {"msg_dup", "msg_other"}
    assert receiver.count_by_id() == {"msg_dup": 3, "msg_other": 1}
    assert len(receiver.attempts_for("msg_dup")) == 3


def test_wait_for_blocks_until_n_deliveries_were_accepted_and_reports_a_timeout(receiver):
    def deliver_later():
        s = requests.Session()
        s.trust_env = False
        for i in range(3):
            time.sleep(0.05)
            body = event_body(i)
            s.post(receiver.url, data=body, headers=signed(body))

    threading.Thread(target=deliver_later, daemon=True).start()
    assert receiver.wait_for(3, timeout=5)
    assert receiver.wait_for(4, timeout=0.2) is False


def test_hundreds_of_concurrent_deliveries_are_all_received_quickly_and_quietly(receiver, capfd):
    bodies = [event_body(i) for i in range(400)]
    local = threading.local()

    def post(body: bytes) -> int:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.trust_env = False
        return local.session.post(receiver.url, data=body, headers=signed(body)).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(post, bodies))
    elapsed = time.monotonic() - started
    assert statuses == [200] * 400 and len(receiver.unique_ids()) == 400
    assert 400 / elapsed > 100, f"only {400 / elapsed:.0f} deliveries/s"
    assert capfd.readouterr().err == ""  # no per-request log lines


def test_the_receiver_can_go_down_and_come_back_on_the_same_port(receiver, http):
    port = receiver.port
    receiver.go_down()
    body = event_body()
    with pytest.raises(requests.ConnectionError):
        http.post(receiver.url, data=body, headers=signed(body), timeout=2)
    receiver.come_back()
    assert receiver.port == port
    assert http.post(receiver.url, data=body, headers=signed(body), timeout=2).status_code == 200


def test_reset_forgets_deliveries_and_replays_the_same_random_failures(http):
    with WebhookReceiver(secret=SECRET, failure_rate=0.5, seed=3) as receiver:

        def statuses():
            out = []
            for i in range(20):
                body = event_body(i // 2)  # each id twice: a retry draws afresh
                out.append(http.post(receiver.url, data=body, headers=signed(body, msg_id=f"msg_{i // 2}")).status_code)
            return out

        first = statuses()
        receiver.reset()
        assert receiver.all == []
        assert statuses() == first


def test_the_receiver_runs_standalone_and_prints_each_delivery(http):
    proc, url = start_cli("tests.emulators.webhook_receiver", "--secret", SECRET, "--failure-rate", "0")
    try:
        assert url.endswith("/hook")
        body = event_body()
        assert http.post(url, data=body, headers=signed(body, msg_id="msg_cli"), timeout=5).status_code == 200
        assert "200 id=msg_cli" in proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(5)
