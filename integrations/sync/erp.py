"""The ERP synchroniser: pull articles and stock, push approved movements; one bad item never stops the rest."""

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from erp.exceptions import DomainError, TransientError, TransportError
from erp.locks import lock
from integrations import logs
from integrations.clients.erp import ErpClient, ErpConfig, ErpRecordError, parse_article, parse_stock
from integrations.models.erp_sync import ErpConnection, ErpSyncRecord, ErpSyncRun, SyncKind, SyncStatus
from inventory import services as inventory
from inventory.models import Article, Movement, MovementKind, MovementStatus

logger = logging.getLogger(__name__)
LOCK_TTL = 3600
ERP_REFERENCE_PREFIX = "erp:"
# A pushed movement's Idempotency-Key and its ErpSyncRecord.external_ref: stable, so a retry lands once.
MOVEMENT_KEY_PREFIX = "emerald-mov-"


@dataclass
class SyncCounts:
    articles: int = 0
    stock: int = 0
    movements: int = 0
    errors: int = 0
    phase_errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "articulos": self.articles,
            "stock": self.stock,
            "movimientos": self.movements,
            "errores": self.errors,
            "fases_fallidas": self.phase_errors,
        }


def _record(connection, kind, external_ref, *, internal_ref="", data=None, error="") -> None:
    """Upsert where this item stands; an error keeps the item for the next run."""
    values = {
        "connection": connection,
        "internal_ref": internal_ref,
        "data": data or {},
        "error": error[:2000],
        "status": SyncStatus.ERROR if error else SyncStatus.SYNCED,
    }
    if not error:
        values["synced_at"] = timezone.now()
    record, created = ErpSyncRecord.objects.get_or_create(kind=kind, external_ref=external_ref[:255], defaults=values)
    if not created:
        for name, value in values.items():
            setattr(record, name, value)
        record.attempts += 1
        record.save()


def apply_article(connection: ErpConnection | None, raw, counts: SyncCounts) -> None:
    """Upsert one ERP article (by external_ref, else by code) and record where it stands."""
    ref = str(raw.get("id", "?")) if isinstance(raw, dict) else "?"
    try:
        item = parse_article(raw)
        with transaction.atomic():
            article = (
                Article.objects.filter(external_ref=item.erp_id).first()
                or Article.objects.filter(code=item.code.upper()).first()
            )
            inventory.save_article(
                code=item.code,
                article=article,
                name=item.name,
                category=item.category,
                unit=item.unit,
                material=item.material,
                diameter_mm=item.diameter_mm,
                min_stock=item.min_stock,
                active=item.active,
                external_ref=item.erp_id,
            )
            _record(connection, SyncKind.ARTICLE, item.erp_id, internal_ref=item.code.upper(), data=item.raw)
        counts.articles += 1
    except (ErpRecordError, DomainError, ValueError) as exc:
        counts.errors += 1
        _record(connection, SyncKind.ARTICLE, ref, data=raw if isinstance(raw, dict) else {}, error=str(exc))


def apply_stock(connection: ErpConnection | None, raw, counts: SyncCounts, *, source: str) -> None:
    """Bring one article's stock in one warehouse to the ERP's figure through an approved ajuste."""
    ref = f"{raw.get('articulo', '?')}@{raw.get('deposito', '?')}" if isinstance(raw, dict) else "?"
    try:
        item = parse_stock(raw)
        article = Article.objects.filter(external_ref=item.erp_article_id).first()
        if article is None:
            raise ErpRecordError(f"artículo del ERP desconocido: {item.erp_article_id}")
        warehouse = inventory.get_warehouse(item.warehouse)
        with transaction.atomic():
            inventory.set_stock(
                article=article,
                warehouse=warehouse,
                quantity=item.quantity,
                reference=f"{ERP_REFERENCE_PREFIX}{source}"[:200],
                actor=inventory.Actor(key_label=f"erp-sync:{source}"[:150]),
            )
            _record(connection, SyncKind.STOCK, ref, internal_ref=f"{article.code}@{warehouse.code}", data=raw)
        counts.stock += 1
    except (ErpRecordError, DomainError, ValueError) as exc:
        counts.errors += 1
        _record(connection, SyncKind.STOCK, ref, data=raw if isinstance(raw, dict) else {}, error=str(exc))


def pull_articles(connection: ErpConnection, client: ErpClient, counts: SyncCounts) -> None:
    for raw in client.iter_articles():
        apply_article(connection, raw, counts)


def pull_stock(connection: ErpConnection, client: ErpClient, counts: SyncCounts) -> None:
    for raw in client.iter_stock():
        apply_stock(connection, raw, counts, source=connection.name)


def movements_to_push(connection: ErpConnection):
    """Approved since `push_since`, not already synced, and not the ERP's own ajustes echoed back."""
    synced = ErpSyncRecord.objects.filter(
        kind=SyncKind.MOVEMENT,
        status=SyncStatus.SYNCED,
        external_ref=Concat(Value(MOVEMENT_KEY_PREFIX), Cast(OuterRef("pk"), CharField())),
    )
    return (
        Movement.objects.filter(status=MovementStatus.APPROVED, decided_at__gte=connection.push_since)
        .exclude(reference__startswith=ERP_REFERENCE_PREFIX)
        .exclude(Exists(synced))
        .select_related("article")
        .order_by("pk")
    )


def movement_payload(movement: Movement) -> dict:
    sign = movement.direction if movement.kind == MovementKind.ADJUSTMENT else 1
    return {
        "tipo": movement.kind,
        "articulo": movement.article.external_ref or movement.article.code,
        "cantidad": str(movement.quantity * sign),
        "fecha": (movement.decided_at or movement.created_at).isoformat(),
    }


def push_movements(connection: ErpConnection, client: ErpClient, counts: SyncCounts) -> None:
    for movement in movements_to_push(connection):
        key = f"{MOVEMENT_KEY_PREFIX}{movement.pk}"
        payload = movement_payload(movement)
        try:
            answer = client.push_movement(payload, idempotency_key=key)
        except TransientError:
            raise  # down, timing out or failing: stop this phase; every unsent movement is retried next run
        except TransportError as exc:
            # The ERP answered but refused or garbled this one; a retry reuses the key, so it still lands once.
            counts.errors += 1
            _record(connection, SyncKind.MOVEMENT, key, internal_ref=str(movement.pk), data=payload, error=str(exc))
            continue
        _record(connection, SyncKind.MOVEMENT, key, internal_ref=str(movement.pk), data={**payload, "erp": answer})
        counts.movements += 1


PHASES = (("articulos", pull_articles), ("stock", pull_stock), ("movimientos", push_movements))


def sync_erp(connection: ErpConnection) -> ErpSyncRun:
    """One full run, at most one at a time per connection; raises AlreadyRunningError if one is running."""
    with lock(f"erp-sync:{connection.pk}", ttl=LOCK_TTL):
        run = ErpSyncRun.objects.create(connection=connection)
        counts = SyncCounts()
        config = ErpConfig(connection.base_url, connection.api_key, connection.page_size, connection.timeout_s)
        with ErpClient(config, on_response=logs.record) as client:
            for name, phase in PHASES:
                try:
                    phase(connection, client, counts)
                except TransportError as exc:
                    # A phase whose transport failed is recorded and skipped; its items are retried next run.
                    counts.phase_errors.append(f"{name}: {exc.message}")
                    logger.warning("ERP sync %s: phase %s failed: %s", connection.name, name, exc.message)
        run.finished_at = timezone.now()
        run.ok = not counts.phase_errors and counts.errors == 0
        run.counts = counts.as_dict()
        run.error = "; ".join(counts.phase_errors)
        run.save()
        logs.write(
            system="erp",
            kind="sync",
            ok=run.ok,
            request={"conexion": connection.name},
            response=run.counts,
            error=run.error,
            duration_ms=int((run.finished_at - run.started_at).total_seconds() * 1000),
        )
        return run


def sync_all() -> list[ErpSyncRun]:
    return [sync_erp(c) for c in ErpConnection.objects.filter(enabled=True).order_by("pk")]
