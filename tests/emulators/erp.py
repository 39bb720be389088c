"""In-process HTTP emulator of the external ERP that Emerald's ERP synchroniser talks to.

The contract follows ``/work/shared/specs/inventory-external-integration.md`` (section
"Sincronización con ERP"): ``GET /api/articulos``, ``GET /api/stock`` and
``POST /api/movimientos`` with ``Authorization: Bearer <api_key>``.

Usage in a test::

    with ErpEmulator(page_size=10) as erp:
        erp.seed(25)
        sync = SincronizadorERP(erp.url, erp.api_key)
        ...
        erp.mode = "down"          # or erp.go_down(); the client now gets a connection error
        erp.come_back()            # listening again on the same port
        erp.fail_next(2, status=503)
        assert len(erp.movements) == 1

Standalone::

    python -m tests.emulators.erp --port 9100 --articles 20

The module also holds :class:`LoopbackHTTPService`, the small start/stop/go_down/come_back
server base shared with ``tests.emulators.webhook_receiver``. It only ever binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

LOOPBACK = "127.0.0.1"
MAX_BODY_BYTES = 5 * 1024 * 1024


# --------------------------------------------------------------------------------------
# Shared loopback server base
# --------------------------------------------------------------------------------------


@dataclass
class Response:
    """What a service wants written back for one request."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return cls(status, body, "application/json", dict(headers or {}))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a requests.Session reuses connections
    server_version = "EmeraldEmulator/1.0"
    timeout = 30  # idle keep-alive connections are dropped after this many seconds
    # Headers and body are two writes; with Nagle on, the second waits for the peer's delayed ACK
    # (~40 ms per request on keep-alive connections). TCP_NODELAY removes that stall.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the per-request stderr log of http.server."""

    def version_string(self) -> str:
        return self.server_version

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, total = [], 0
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY_BYTES:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        service: LoopbackHTTPService = self.server.service  # type: ignore[attr-defined]
        try:
            body = self._read_body()
        except ValueError as exc:
            self.close_connection = True
            self._write(Response.json(400, {"detail": f"unreadable body: {exc}"}))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        response = service._respond(self.command, self.path, headers, body)
        if response is not None:
            self._write(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def _write(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(response.body)
            self.wfile.flush()
        except OSError:  # client went away (timed out, or we dropped the connection)
            self.close_connection = True


class _LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # bursts of hundreds of requests must not be refused

    def __init__(self, port: int, service: LoopbackHTTPService) -> None:
        self.service = service
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((LOOPBACK, port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), which may do a DNS lookup; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = host, port

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Cut every open (kept-alive or in-flight) connection; the owning thread closes it."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):  # already closed by its thread
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):  # disconnects are normal here; keep the rest for debugging
            self.service.server_errors.append(exc)


class LoopbackHTTPService:
    """Threaded HTTP server on 127.0.0.1 that can be stopped and restarted on the same port.

    Subclasses implement ``_respond(method, raw_path, headers, body) -> Response``; ``headers``
    has lower-case keys. It runs in the per-connection thread, so it may block.
    """

    def __init__(self, port: int = 0) -> None:
        self._requested_port = port
        self.port: int | None = None
        self.server_errors: list[BaseException] = []
        self._server: _LoopbackServer | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle_lock = threading.RLock()
        self._wake = threading.Event()  # set on stop/go_down to cut "slow" sleeps short

    # lifecycle -------------------------------------------------------------------------
    def start(self) -> LoopbackHTTPService:
        with self._lifecycle_lock:
            if self._server is None:
                self._listen(self._requested_port if self.port is None else self.port)
        return self

    def stop(self) -> None:
        with self._lifecycle_lock:
            self._close_listener()

    def go_down(self) -> None:
        """Stop listening and cut open connections: clients now get a connection error."""
        with self._lifecycle_lock:
            self._close_listener()

    def come_back(self) -> None:
        """Listen again on the same port as before."""
        with self._lifecycle_lock:
            if self.port is None:
                raise RuntimeError("come_back() needs a port: call start() first")
            if self._server is None:
                self._listen(self.port)

    @property
    def is_up(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("not started")
        return f"http://{LOOPBACK}:{self.port}"

    url = base_url

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # internals -------------------------------------------------------------------------
    def _listen(self, port: int) -> None:
        server = _LoopbackServer(port, self)
        self.port = server.server_address[1]
        self._wake.clear()
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()

    def _close_listener(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        self._wake.set()
        server.shutdown()
        server.server_close()  # the listening socket is closed: new connections are refused
        server.drop_connections()
        if thread is not None:
            thread.join(timeout=5)

    def _sleep(self, seconds: float) -> None:
        """Sleep that stop()/go_down() interrupt, so tests do not wait for slow handlers."""
        if seconds > 0:
            self._wake.wait(seconds)

    def _respond(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        raise NotImplementedError


# --------------------------------------------------------------------------------------
# ERP emulator
# --------------------------------------------------------------------------------------

MODES = ("ok", "down", "slow", "error500", "malformed")
MALFORMED_BODY = b'{"results": ['
MAX_PAGE_SIZE = 1000
REQUIRED_MOVEMENT_FIELDS = ("tipo", "articulo", "cantidad", "fecha")

_SEED_CATALOGUE = (
    # (nombre, categoria, material, diametros or None, unidad)
    ("Tubería {m} {d} mm", "Tuberías", "PVC", (63, 75, 90, 110, 160, 200), "un"),
    ("Tubería {m} {d} mm", "Tuberías", "PEAD", (20, 25, 32, 40, 50, 63), "un"),
    ("Codo 90° {m} {d} mm", "Accesorios", "PVC", (63, 110, 160), "un"),
    ("Válvula esférica {m} {d} mm", "Válvulas", "Bronce", (13, 19, 25), "un"),
    ("Cable de fibra óptica 12 hilos", "Fibra óptica", "Fibra", None, "m"),
    ("Caja de empalme {m}", "Fibra óptica", "Plástico", None, "un"),
)


@dataclass
class RecordedRequest:
    """One raw request as the ERP received it (headers have lower-case keys)."""

    method: str
    path: str  # without the query string, e.g. "/api/articulos"
    query: dict[str, str]
    raw_path: str  # as sent, e.g. "/api/articulos?page=2"
    headers: dict[str, str]
    body: bytes
    received_at: float  # time.time()
    status: int | None = None  # what the emulator answered

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _decimal_str(value: Any, places: int | None = None) -> str:
    number = Decimal(str(value))
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places))
    return str(number)


class ErpEmulator(LoopbackHTTPService):
    """Fake ERP with paged articles/stock, idempotent movement intake and fault modes.

    Args:
        api_key: the only accepted ``Authorization: Bearer <api_key>``.
        page_size: default page size (``?page_size=`` overrides it, capped at 1000).
        port: 0 picks a free port; ``.port`` / ``.url`` expose the real one.
        paged: False makes the list endpoints answer a plain JSON list (no envelope).
        slow_seconds: how long ``mode="slow"`` waits before answering.
        strict_articles: True makes ``POST /api/movimientos`` reject unknown ``articulo`` ids.

    Fault modes (``mode`` attribute, settable at runtime, checked before authentication):
        ``ok``; ``down`` (same as :meth:`go_down`, the listening socket is closed);
        ``slow`` (the request is *processed*, then the answer waits ``slow_seconds``: a movement
        whose client timed out is stored, which is what Idempotency-Key retries are for);
        ``error500`` (500 with a JSON body, nothing processed);
        ``malformed`` (200 ``application/json`` with the body ``{"results": [``, nothing processed).
    :meth:`fail_next` fails just the next *n* requests, before the mode is looked at.
    """

    def __init__(
        self,
        api_key: str = "erp-secret-key",
        page_size: int = 50,
        *,
        port: int = 0,
        paged: bool = True,
        slow_seconds: float = 3.0,
        strict_articles: bool = False,
    ) -> None:
        super().__init__(port)
        self.api_key = api_key
        self.page_size = page_size
        self.paged = paged
        self.slow_seconds = slow_seconds
        self.strict_articles = strict_articles
        self._lock = threading.RLock()
        self._mode = "ok"
        self._reset_state()

    def _reset_state(self) -> None:
        with self._lock:
            self._articles: dict[str, dict[str, Any]] = {}
            self._stock: dict[tuple[str, str], dict[str, Any]] = {}
            self._movements: list[dict[str, Any]] = []
            self._idempotency: dict[str, tuple[str, int, dict[str, Any]]] = {}
            self._requests: list[RecordedRequest] = []
            self._next_article = 1
            self._next_movement = 1
            self._fail_remaining = 0
            self._fail_status = 500
            self._fail_path: str | None = None
            self._fail_retry_after: int | None = None

    # fault control ---------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"unknown ERP mode {value!r}; expected one of {MODES}")
        if value == "down":
            self.go_down()
            return
        with self._lifecycle_lock:
            if self._mode == "down":
                super().come_back()
            self._mode = value

    def go_down(self) -> None:
        """Close the listening socket and cut open connections (connection refused from now on)."""
        with self._lifecycle_lock:
            super().go_down()
            self._mode = "down"

    def come_back(self) -> None:
        """Listen again on the same port; the mode returns to ``ok`` if it was ``down``."""
        with self._lifecycle_lock:
            super().come_back()
            if self._mode == "down":
                self._mode = "ok"

    def start(self) -> ErpEmulator:
        with self._lifecycle_lock:
            if self._mode == "down":
                self._mode = "ok"
            super().start()
        return self

    def stop(self) -> None:
        with self._lifecycle_lock:
            super().stop()
            if self._mode == "down":
                self._mode = "ok"  # a later start() listens normally

    def fail_next(self, n: int, status: int = 500, *, path: str | None = None, retry_after: int | None = None) -> None:
        """Answer ``status`` to the next ``n`` requests (only those whose path starts with
        ``path``, if given), then behave normally again. ``retry_after`` adds that header."""
        with self._lock:
            self._fail_remaining = n
            self._fail_status = status
            self._fail_path = path
            self._fail_retry_after = retry_after

    # data helpers ----------------------------------------------------------------------
    def add_article(
        self,
        codigo: str | None = None,
        nombre: str | None = None,
        *,
        categoria: str = "Tuberías",
        unidad: str = "un",
        material: str = "PVC",
        diametro: Any = None,
        stock_minimo: Any = "5",
        activo: bool = True,
        erp_id: str | None = None,
        actualizado: datetime | str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Add (or replace, if ``erp_id`` exists) an article; returns a copy of the stored row."""
        with self._lock:
            if erp_id is None:
                erp_id = f"ART-{self._next_article:04d}"
                self._next_article += 1
            if isinstance(actualizado, datetime):
                actualizado = actualizado.isoformat()
            article = {
                "id": erp_id,
                "codigo": codigo or erp_id.replace("ART-", "COD-"),
                "nombre": nombre or f"Artículo {erp_id}",
                "categoria": categoria,
                "unidad": unidad,
                "material": material,
                "diametro": None if diametro is None else _decimal_str(diametro, 2),
                "stock_minimo": _decimal_str(stock_minimo),
                "activo": bool(activo),
                "actualizado": actualizado or _utcnow().isoformat(),
                **extra,
            }
            self._articles[erp_id] = article
            return dict(article)

    def update_article(self, erp_id: str, **changes: Any) -> dict[str, Any]:
        """Change fields of an article and bump ``actualizado`` (strictly later than before)."""
        with self._lock:
            article = self._articles[erp_id]
            if "diametro" in changes and changes["diametro"] is not None:
                changes["diametro"] = _decimal_str(changes["diametro"], 2)
            if "stock_minimo" in changes:
                changes["stock_minimo"] = _decimal_str(changes["stock_minimo"])
            if isinstance(changes.get("actualizado"), datetime):
                changes["actualizado"] = changes["actualizado"].isoformat()
            if "actualizado" not in changes:
                previous = datetime.fromisoformat(article["actualizado"])
                changes["actualizado"] = max(_utcnow(), previous + timedelta(seconds=1)).isoformat()
            article.update(changes)
            return dict(article)

    def remove_article(self, erp_id: str) -> None:
        with self._lock:
            self._articles.pop(erp_id)
            for key in [k for k in self._stock if k[0] == erp_id]:
                del self._stock[key]

    def set_stock(self, erp_id: str, warehouse: str, qty: Any, *, codigo: str | None = None) -> dict[str, Any]:
        """Set the quantity of an article in a warehouse (``deposito``). Unknown article ids are
        allowed (``codigo`` is then None unless given) to test orphan stock rows."""
        with self._lock:
            article = self._articles.get(erp_id)
            row = {
                "articulo": erp_id,
                "codigo": codigo if codigo is not None else (article["codigo"] if article else None),
                "deposito": warehouse,
                "cantidad": _decimal_str(qty, 2),
            }
            self._stock[(erp_id, warehouse)] = row
            return dict(row)

    def seed(self, n_articles: int, warehouses: Iterable[str] = ("CENTRAL", "NORTE")) -> list[dict[str, Any]]:
        """Add ``n_articles`` deterministic, realistic articles with stock in each warehouse."""
        warehouses = tuple(warehouses)
        created = []
        for i in range(n_articles):
            template, categoria, material, diameters, unidad = _SEED_CATALOGUE[i % len(_SEED_CATALOGUE)]
            diametro = diameters[(i // len(_SEED_CATALOGUE)) % len(diameters)] if diameters else None
            with self._lock:
                number = self._next_article
                article = self.add_article(
                    codigo=f"{material[:3].upper()}-{number:05d}",
                    nombre=template.format(m=material, d=diametro),
                    categoria=categoria,
                    unidad=unidad,
                    material=material,
                    diametro=diametro,
                    stock_minimo=5 + (i % 4) * 5,
                )
                for w, warehouse in enumerate(warehouses):
                    self.set_stock(article["id"], warehouse, Decimal((i * 7 + w * 3) % 40) + Decimal("0.50") * (i % 2))
            created.append(article)
        return created

    def reset(self) -> None:
        """Forget articles, stock, movements, recorded requests and faults; listen again if down."""
        self._reset_state()
        self.mode = "ok"

    # read-only views -------------------------------------------------------------------
    @property
    def articles(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(a) for a in self._articles.values()]

    @property
    def stock(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._stock.values()]

    @property
    def movements(self) -> list[dict[str, Any]]:
        """Stored movements (each once, even if the client retried with the same key)."""
        with self._lock:
            return [dict(m) for m in self._movements]

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order, including rejected and failed ones."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        path = path.rstrip("/")
        return [r for r in self.requests if r.path == path and (method is None or r.method == method.upper())]

    # HTTP ------------------------------------------------------------------------------
    def _respond(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        parts = urlsplit(raw_path)
        query_pairs = parse_qsl(parts.query, keep_blank_values=True)
        path = parts.path.rstrip("/") or "/"
        record = RecordedRequest(method, path, dict(query_pairs), raw_path, headers, body, time.time())
        with self._lock:
            self._requests.append(record)
            failure = None
            if self._fail_remaining > 0 and (self._fail_path is None or path.startswith(self._fail_path)):
                self._fail_remaining -= 1
                failure = (self._fail_status, self._fail_retry_after)
            mode = self._mode

        if failure is not None:
            status, retry_after = failure
            extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            response = Response.json(status, {"detail": f"emulated failure ({status})"}, extra)
        elif mode == "error500":
            response = Response.json(500, {"detail": "Internal Server Error (emulated ERP fault)"})
        elif mode == "malformed":
            response = Response(200, MALFORMED_BODY, "application/json")
        else:
            response = self._route(method, path, query_pairs, headers, body)
            if mode == "slow":
                self._sleep(self.slow_seconds)
        record.status = response.status
        return response

    def _route(
        self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> Response:
        if path == "/api/articulos":
            views = {"GET": self._list_articles}
        elif path.startswith("/api/articulos/"):
            views = {"GET": self._get_article}
        elif path == "/api/stock":
            views = {"GET": self._list_stock}
        elif path == "/api/movimientos":
            views = {"GET": self._list_movements, "POST": self._create_movement}
        else:
            return Response.json(404, {"detail": "No encontrado."})
        if not self._authorized(headers):
            return Response.json(
                401,
                {"detail": "Las credenciales de autenticación no se proveyeron o son inválidas."},
                {"WWW-Authenticate": 'Bearer realm="erp"'},
            )
        view = views.get(method)
        if view is None:
            return Response.json(405, {"detail": f'Método "{method}" no permitido.'}, {"Allow": ", ".join(views)})
        return view(path, query, headers, body)

    def _authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token.strip() == self.api_key

    def _paginate(self, path: str, query: list[tuple[str, str]], items: list[dict[str, Any]]) -> Response:
        if not self.paged:
            return Response.json(200, items)
        params = dict(query)
        try:
            size = int(params.get("page_size", self.page_size))
            if size <= 0:
                raise ValueError
        except ValueError:
            size = self.page_size
        size = min(size, MAX_PAGE_SIZE)
        pages = max(1, math.ceil(len(items) / size))
        try:
            page = int(params.get("page", 1))
        except ValueError:
            page = 0
        if not 1 <= page <= pages:
            return Response.json(404, {"detail": "Página inválida."})

        def link(number: int) -> str:
            pairs = [(k, v) for k, v in query if k != "page"] + [("page", str(number))]
            return f"{self.url}{path}?{urlencode(pairs)}"

        return Response.json(
            200,
            {
                "count": len(items),
                "next": link(page + 1) if page < pages else None,
                "previous": link(page - 1) if page > 1 else None,
                "results": items[(page - 1) * size : page * size],
            },
        )

    def _list_articles(self, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes) -> Response:
        params = dict(query)
        items = self.articles
        since = params.get("actualizado_desde")
        if since:
            try:
                threshold = datetime.fromisoformat(since.replace("Z", "+00:00"))
            except ValueError:
                return Response.json(400, {"actualizado_desde": ["Fecha inválida (ISO 8601)."]})
            if threshold.tzinfo is None:
                threshold = threshold.replace(tzinfo=UTC)
            items = [a for a in items if datetime.fromisoformat(a["actualizado"]) >= threshold]
        if "codigo" in params:
            items = [a for a in items if a["codigo"] == params["codigo"]]
        return self._paginate(path, query, items)

    def _get_article(self, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes) -> Response:
        with self._lock:
            article = self._articles.get(path.rsplit("/", 1)[1])
            article = dict(article) if article else None
        return Response.json(200, article) if article else Response.json(404, {"detail": "No encontrado."})

    def _list_stock(self, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes) -> Response:
        params = dict(query)
        items = self.stock
        if "deposito" in params:
            items = [r for r in items if r["deposito"] == params["deposito"]]
        if "articulo" in params:
            items = [r for r in items if r["articulo"] == params["articulo"]]
        return self._paginate(path, query, items)

    def _list_movements(
        self, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> Response:
        return self._paginate(path, query, self.movements)

    def _create_movement(
        self, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> Response:
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            return Response.json(400, {"detail": "JSON inválido."})
        if not isinstance(payload, dict):
            return Response.json(400, {"detail": "Se esperaba un objeto JSON."})

        errors: dict[str, list[str]] = {}
        for name in REQUIRED_MOVEMENT_FIELDS:
            if payload.get(name) in (None, ""):
                errors[name] = ["Este campo es requerido."]
        if "cantidad" not in errors:
            try:
                Decimal(str(payload["cantidad"]))
            except InvalidOperation:
                errors["cantidad"] = ["Se requiere un número válido."]
        if "fecha" not in errors:
            try:
                datetime.fromisoformat(str(payload["fecha"]).replace("Z", "+00:00"))
            except ValueError:
                errors["fecha"] = ["Fecha inválida (ISO 8601)."]

        key = headers.get("idempotency-key") or None
        fingerprint = json.dumps(payload, sort_keys=True, default=str)
        with self._lock:  # check-and-store atomically: concurrent retries must not both store
            if key is not None and key in self._idempotency:
                first_fingerprint, status, first_body = self._idempotency[key]
                if first_fingerprint != fingerprint:
                    return Response.json(422, {"detail": "Idempotency-Key ya usada con un contenido distinto."})
                return Response.json(status, first_body, {"Idempotent-Replayed": "true"})
            if self.strict_articles and "articulo" not in errors and str(payload["articulo"]) not in self._articles:
                errors["articulo"] = ["Artículo inexistente."]
            if errors:
                return Response.json(400, errors)
            movement = {
                "id": f"MOV-{self._next_movement}",
                **{name: payload[name] for name in REQUIRED_MOVEMENT_FIELDS},
                **{k: v for k, v in payload.items() if k not in REQUIRED_MOVEMENT_FIELDS and k != "id"},
                "recibido": _utcnow().isoformat(),
                "idempotency_key": key,
            }
            self._next_movement += 1
            self._movements.append(movement)
            if key is not None:
                self._idempotency[key] = (fingerprint, 201, dict(movement))
        return Response.json(201, movement)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Emerald test ERP emulator (binds 127.0.0.1 only).")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--articles", type=int, default=20, help="articles to seed")
    parser.add_argument("--api-key", default="erp-secret-key")
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--unpaged", action="store_true", help="answer plain JSON lists")
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--slow-seconds", type=float, default=3.0)
    args = parser.parse_args(argv)

    erp = ErpEmulator(
        args.api_key, args.page_size, port=args.port, paged=not args.unpaged, slow_seconds=args.slow_seconds
    )
    erp.seed(args.articles)
    erp.start()
    erp.mode = args.mode
    print(
        f"ERP emulator listening on {erp.url} (api key {args.api_key!r}, {args.articles} articles, "
        f"{'paged' if erp.paged else 'unpaged'}, mode {args.mode})",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        erp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
