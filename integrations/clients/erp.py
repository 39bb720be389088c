"""Client of an external ERP's REST API (articles, stock, movements), the spec's SincronizadorERP transport."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from erp.exceptions import UpstreamResponseError
from erp.http import HttpClient, ResponseInfo

MAX_PAGES = 10_000  # a runaway "next" loop from a broken ERP ends here instead of never


@dataclass(frozen=True)
class ErpConfig:
    base_url: str
    api_key: str
    page_size: int = 100
    timeout: float = 10.0


@dataclass(frozen=True)
class ErpArticle:
    erp_id: str
    code: str
    name: str
    category: str
    unit: str
    material: str
    diameter_mm: Decimal | None
    min_stock: Decimal
    active: bool
    raw: dict


@dataclass(frozen=True)
class ErpStock:
    erp_article_id: str
    code: str
    warehouse: str
    quantity: Decimal
    raw: dict


class ErpRecordError(ValueError):
    """One record from the ERP cannot be used; the sync marks it ERROR and goes on with the rest."""


def _decimal(value, field: str, *, allow_none=False) -> Decimal | None:
    if value is None or value == "":
        if allow_none:
            return None
        raise ErpRecordError(f"falta '{field}'")
    try:
        number = Decimal(str(value).replace(",", "."))
    except (InvalidOperation, ValueError):
        raise ErpRecordError(f"'{field}' no es un número: {value!r}") from None
    if not number.is_finite():
        raise ErpRecordError(f"'{field}' no es un número: {value!r}")
    return number


def parse_article(raw) -> ErpArticle:
    if not isinstance(raw, dict):
        raise ErpRecordError("el artículo no es un objeto JSON")
    erp_id = str(raw.get("id") or "").strip()
    name = str(raw.get("nombre") or "").strip()
    if not erp_id:
        raise ErpRecordError("falta 'id'")
    if not name:
        raise ErpRecordError("falta 'nombre'")
    return ErpArticle(
        erp_id=erp_id,
        code=str(raw.get("codigo") or erp_id).strip(),
        name=name[:200],
        category=str(raw.get("categoria") or "")[:100],
        unit=str(raw.get("unidad") or "un")[:20],
        material=str(raw.get("material") or "")[:100],
        diameter_mm=_decimal(raw.get("diametro"), "diametro", allow_none=True),
        min_stock=_decimal(raw.get("stock_minimo") or 0, "stock_minimo"),
        active=raw.get("activo", True) is not False,
        raw=raw,
    )


def parse_stock(raw) -> ErpStock:
    if not isinstance(raw, dict):
        raise ErpRecordError("la fila de stock no es un objeto JSON")
    article = str(raw.get("articulo") or "").strip()
    warehouse = str(raw.get("deposito") or "").strip()
    if not article:
        raise ErpRecordError("falta 'articulo'")
    if not warehouse:
        raise ErpRecordError("falta 'deposito'")
    quantity = _decimal(raw.get("cantidad"), "cantidad")
    if quantity < 0:
        raise ErpRecordError(f"cantidad negativa: {quantity}")
    return ErpStock(article, str(raw.get("codigo") or ""), warehouse, quantity, raw)


class ErpClient(HttpClient):
    """Reads pages lazily (plain lists or {"results", "next"} pages) and posts movements idempotently."""

    def __init__(self, config: ErpConfig, on_response: Callable[[ResponseInfo], None] | None = None):
        super().__init__(
            base_url=config.base_url,
            timeout=config.timeout,
            headers={"Authorization": f"Bearer {config.api_key}"},
            on_response=on_response,
            system="erp",
        )
        self.page_size = config.page_size

    def _pages(self, path: str) -> Iterator[list]:
        url, params = path, {"page_size": self.page_size}
        for _ in range(MAX_PAGES):
            body = self._request("GET", url, params=params)
            if isinstance(body, list):
                yield body
                return
            if not isinstance(body, dict) or not isinstance(body.get("results"), list):
                raise UpstreamResponseError("erp: la respuesta no es una lista ni una página con 'results'")
            yield body["results"]
            url, params = body.get("next"), None
            if not url:
                return
        raise UpstreamResponseError(f"erp: más de {MAX_PAGES} páginas; se corta la lectura")

    def iter_articles(self) -> Iterator[object]:
        """Raw article records; parse each with parse_article so one bad record does not stop the rest."""
        for page in self._pages("/api/articulos"):
            yield from page

    def iter_stock(self) -> Iterator[object]:
        for page in self._pages("/api/stock"):
            yield from page

    def push_movement(self, payload: dict, *, idempotency_key: str) -> dict:
        """POST one movement; the Idempotency-Key makes a retried push land once."""
        body = self._request("POST", "/api/movimientos", json=payload, headers={"Idempotency-Key": idempotency_key})
        if not isinstance(body, dict):
            raise UpstreamResponseError("erp: la respuesta al movimiento no es un objeto JSON")
        return body
