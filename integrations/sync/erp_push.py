"""Inbound ERP pushes (verified webhooks) of article and stock changes, applied through the same sync code."""

from erp.exceptions import DomainError
from integrations.sync.erp import SyncCounts, apply_article, apply_stock

ARTICLES_EVENT = "erp.articulos"
STOCK_EVENT = "erp.stock"


class PushPayloadError(DomainError):
    code = "INVALID_PUSH"


def _items(event, key: str) -> list:
    """`data` may be a list of records, one record, or {"<key>": [...]}."""
    data = (event.payload or {}).get("data")
    if isinstance(data, dict) and isinstance(data.get(key), list):
        return data[key]
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return data
    raise PushPayloadError(f"El push no trae '{key}' en 'data'.")


def _raise_if_failed(counts: SyncCounts) -> None:
    if counts.errors:
        raise PushPayloadError(f"{counts.errors} registros con error (ver registros de sincronización ERP).")


def handle_articles_push(event) -> None:
    counts = SyncCounts()
    for raw in _items(event, "articulos"):
        apply_article(None, raw, counts)
    _raise_if_failed(counts)


def handle_stock_push(event) -> None:
    counts = SyncCounts()
    for raw in _items(event, "stock"):
        apply_stock(None, raw, counts, source=f"push:{event.source.slug}")
    _raise_if_failed(counts)
