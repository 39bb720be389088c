"""CSV import of articles and stock: stream, validate every row, then write in bulk batches in one transaction."""

import csv
import hashlib
import io
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from inventory import services
from inventory.models import Article, Stock, Warehouse, normalize_code

BATCH = 5000
SAMPLE_BYTES = 64 * 1024
KINDS = ("articulos", "stock")

# Canonical column -> accepted header spellings (already normalised: lower-case, no accents, "_" for spaces).
COLUMNS = {
    "articulos": {
        "required": ("nombre", "material", "diametro"),
        "optional": ("codigo", "categoria", "unidad", "stock_minimo"),
    },
    "stock": {"required": ("codigo", "deposito", "cantidad"), "optional": ()},
}
ALIASES = {"diametro_mm": "diametro", "minimo": "stock_minimo", "stock_min": "stock_minimo", "sku": "codigo"}


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (empty, binary, wrong encoding, missing columns)."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    value: str
    message: str


@dataclass
class ImportResult:
    kind: str
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    errors: list[RowError] = field(default_factory=list)
    written: bool = False
    report_path: Path | None = None

    def summary(self) -> str:
        return (
            f"{self.kind}: {self.total} filas, {self.created} creadas, {self.updated} actualizadas, "
            f"{self.unchanged} sin cambios, {self.invalid} inválidas"
        )


def normalize_header(name: str) -> str:
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().strip().lower()
    text = "_".join(text.replace("-", " ").split())
    return ALIASES.get(text, text)


def parse_decimal(raw: str) -> Decimal:
    """Accept 12.5, 12,5 and 1.234,5 (Argentine thousands separator)."""
    text = raw.strip().replace(" ", "")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    value = Decimal(text)
    if not value.is_finite():
        raise InvalidOperation(raw)
    return value


def generated_code(name: str, material: str, diameter: Decimal | None) -> str:
    """A stable code for rows without one, so re-importing the same file updates instead of duplicating."""
    key = f"{name.strip().lower()}|{material.strip().lower()}|{diameter if diameter is not None else ''}"
    return "ART-" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:10].upper()


# ----------------------------------------------------------------------------- reading


class CsvSource:
    """Opens the file for streaming, twice if needed (validate, then write), with detected dialect and columns."""

    def __init__(self, path: Path, *, kind: str, delimiter: str | None = None, encoding: str = "utf-8"):
        if kind not in KINDS:
            raise ImportFileError(f"Tipo desconocido '{kind}': use articulos o stock.")
        self.path, self.kind = Path(path), kind
        self.encoding = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
        sample = self._sample()
        self.delimiter = delimiter or self._sniff(sample)
        self.columns = self._columns()
        self.size = self.path.stat().st_size

    def _sample(self) -> str:
        try:
            raw = self.path.read_bytes()[:SAMPLE_BYTES] if self.path.stat().st_size < SAMPLE_BYTES else self._head()
        except FileNotFoundError:
            raise ImportFileError(f"No existe el archivo {self.path}.") from None
        if not raw.strip():
            raise ImportFileError("El archivo está vacío.")
        if b"\x00" in raw:
            raise ImportFileError("El archivo parece binario, no un CSV de texto.")
        try:
            return raw.decode(self.encoding)
        except UnicodeDecodeError as exc:
            # The sample may end in the middle of a multi-byte character; only an earlier failure is real.
            if exc.start < len(raw) - 4:
                raise ImportFileError(
                    f"El archivo no está codificado en {self.encoding.replace('-sig', '')} "
                    f"(byte {exc.start}); pruebe --encoding latin-1."
                ) from None
            return raw[: exc.start].decode(self.encoding)

    def _head(self) -> bytes:
        with self.path.open("rb") as fh:
            return fh.read(SAMPLE_BYTES)

    @staticmethod
    def _sniff(sample: str) -> str:
        first_line = sample.splitlines()[0] if sample.splitlines() else ""
        try:
            return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            counts = {d: first_line.count(d) for d in ",;\t|"}
            return max(counts, key=counts.get) if any(counts.values()) else ","

    def open(self):
        return self.path.open("r", encoding=self.encoding, newline="", errors="strict")

    def _columns(self) -> dict[str, int]:
        with self.open() as fh:
            header = next(csv.reader(fh, delimiter=self.delimiter), None)
        if not header or not any(h.strip() for h in header):
            raise ImportFileError("El archivo no tiene encabezados.")
        names = [normalize_header(h) for h in header]
        spec = COLUMNS[self.kind]
        missing = [c for c in spec["required"] if c not in names]
        if missing:
            raise ImportFileError(
                f"Faltan columnas obligatorias: {', '.join(missing)} (encontradas: {', '.join(h for h in header)})."
            )
        return {name: names.index(name) for name in (*spec["required"], *spec["optional"]) if name in names}

    def rows(self, on_progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, dict[str, str]]]:
        """Yield (line number, {column: raw text}) for each data row; blank lines are skipped."""
        with self.open() as fh:
            reader = csv.reader(fh, delimiter=self.delimiter)
            next(reader, None)
            try:
                for row in reader:
                    if not row or not any(cell.strip() for cell in row):
                        continue
                    if on_progress and reader.line_num % 5000 == 0:
                        on_progress(fh.buffer.tell() if hasattr(fh, "buffer") else 0)
                    yield reader.line_num, {c: (row[i] if i < len(row) else "") for c, i in self.columns.items()}
            except UnicodeDecodeError as exc:
                raise ImportFileError(
                    f"Bytes inválidos para {self.encoding.replace('-sig', '')} cerca de la línea {reader.line_num}; "
                    f"pruebe --encoding latin-1."
                ) from exc
            except csv.Error as exc:
                raise ImportFileError(f"CSV mal formado en la línea {reader.line_num}: {exc}.") from exc


# ----------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class ArticleRow:
    line: int
    code: str
    name: str
    material: str
    diameter_mm: Decimal | None
    category: str
    unit: str
    min_stock: Decimal


@dataclass(frozen=True)
class StockRow:
    line: int
    code: str
    warehouse: str
    quantity: Decimal


def _decimal(line, raw, column, errors, *, allow_blank, minimum=Decimal("0")):
    if not raw.strip():
        if allow_blank:
            return None
        errors.append(RowError(line, column, raw, "Valor obligatorio."))
        return None
    try:
        value = parse_decimal(raw)
    except (InvalidOperation, ValueError):
        errors.append(RowError(line, column, raw, "No es un número válido."))
        return None
    if value < minimum:
        errors.append(RowError(line, column, raw, f"Debe ser mayor o igual que {minimum}."))
        return None
    return value


def validate_article(line: int, raw: dict[str, str]) -> tuple[ArticleRow | None, list[RowError]]:
    errors: list[RowError] = []
    name = raw["nombre"].strip()
    material = raw["material"].strip()
    if not name:
        errors.append(RowError(line, "nombre", raw["nombre"], "Valor obligatorio."))
    elif len(name) > 200:
        errors.append(RowError(line, "nombre", name[:50], "Máximo 200 caracteres."))
    if len(material) > 100:
        errors.append(RowError(line, "material", material[:50], "Máximo 100 caracteres."))
    diameter = _decimal(line, raw["diametro"], "diametro", errors, allow_blank=True)
    if diameter is not None and (diameter >= Decimal("1000000") or diameter.as_tuple().exponent < -2):
        errors.append(RowError(line, "diametro", raw["diametro"], "Máximo 6 enteros y 2 decimales."))
    min_stock = _decimal(line, raw.get("stock_minimo", ""), "stock_minimo", errors, allow_blank=True)
    code = normalize_code(raw.get("codigo", "")) or (generated_code(name, material, diameter) if name else "")
    if len(code) > 64:
        errors.append(RowError(line, "codigo", code[:50], "Máximo 64 caracteres."))
    unit = raw.get("unidad", "").strip() or "un"
    if len(unit) > 20:
        errors.append(RowError(line, "unidad", unit, "Máximo 20 caracteres."))
    if errors:
        return None, errors
    row = ArticleRow(
        line=line,
        code=code,
        name=name,
        material=material,
        diameter_mm=diameter,
        category=raw.get("categoria", "").strip()[:100],
        unit=unit,
        min_stock=min_stock if min_stock is not None else Decimal("0"),
    )
    return row, []


def validate_stock(line: int, raw: dict[str, str]) -> tuple[StockRow | None, list[RowError]]:
    errors: list[RowError] = []
    code = normalize_code(raw["codigo"])
    warehouse = normalize_code(raw["deposito"])
    if not code:
        errors.append(RowError(line, "codigo", raw["codigo"], "Valor obligatorio."))
    if not warehouse:
        errors.append(RowError(line, "deposito", raw["deposito"], "Valor obligatorio."))
    quantity = _decimal(line, raw["cantidad"], "cantidad", errors, allow_blank=False)
    if errors:
        return None, errors
    return StockRow(line=line, code=code, warehouse=warehouse, quantity=quantity), []


# ----------------------------------------------------------------------------- the use case


def _article_values(row: ArticleRow) -> dict:
    return {
        "name": row.name,
        "material": row.material,
        "diameter_mm": row.diameter_mm,
        "category": row.category,
        "unit": row.unit,
        "min_stock": row.min_stock,
    }


_COMPARED = ("name", "material", "diameter_mm", "category", "unit", "min_stock")


def _differs(current: tuple, values: dict) -> bool:
    for name, old in zip(_COMPARED, current):
        new = values[name]
        if isinstance(new, Decimal) or isinstance(old, Decimal):
            if (old is None) != (new is None) or (new is not None and Decimal(old) != new):
                return True
        elif old != new:
            return True
    return False


def _write_article_batch(batch: list[ArticleRow], result: ImportResult) -> None:
    if connection.vendor == "postgresql":
        created, updated = _upsert_articles_with_copy([(row.code, _article_values(row)) for row in batch])
        result.created += created
        result.updated += updated
        result.unchanged += len(batch) - created - updated
        return
    existing = {
        row[0]: row[1:]
        for row in Article.objects.filter(code__in=[r.code for r in batch]).values_list("code", *_COMPARED)
    }
    to_write = []
    for row in batch:
        values = _article_values(row)
        current = existing.get(row.code)
        if current is not None and not _differs(current, values):
            result.unchanged += 1
            continue
        if current is None:
            result.created += 1
        else:
            result.updated += 1
        to_write.append((row.code, values))
    if not to_write:
        return
    now = timezone.now()
    # One INSERT ... ON CONFLICT (code) DO UPDATE per batch: an upsert that keeps ids and external refs.
    Article.objects.bulk_create(
        [Article(code=code, created_at=now, updated_at=now, **values) for code, values in to_write],
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=[*_COMPARED, "updated_at"],
    )


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _upsert_articles_with_copy(rows: list[tuple[str, dict]]) -> tuple[int, int]:
    """PostgreSQL fast path: COPY the batch into a temporary table, then one INSERT ... ON CONFLICT from it.

    The ORM's bulk_create spends most of its time building SQL row by row; COPY streams the batch as text.
    Unchanged rows are skipped by the WHERE of the upsert, and `xmax = 0` tells inserted rows from updated
    ones, so no SELECT is needed to count. Returns (created, updated). Identifiers come from model metadata.
    """
    qn = connection.ops.quote_name
    table = qn(Article._meta.db_table)
    columns = ["code", *_COMPARED]
    now = timezone.now()
    buffer = io.StringIO()
    for code, values in rows:
        buffer.write("\t".join(_copy_text(v) for v in (code, *(values[c] for c in _COMPARED))) + "\n")
    buffer.seek(0)
    column_sql = ", ".join(qn(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS emerald_article_import (code text, name text, material text, "
            "diameter_mm numeric, category text, unit text, min_stock numeric) ON COMMIT DROP"
        )
        cursor.execute("TRUNCATE emerald_article_import")
        cursor.connection.cursor().copy_expert(f"COPY emerald_article_import ({column_sql}) FROM STDIN", buffer)
        updates = ", ".join(f"{qn(c)} = EXCLUDED.{qn(c)}" for c in (*_COMPARED, "updated_at"))
        current = ", ".join(f"{table}.{qn(c)}" for c in _COMPARED)
        incoming = ", ".join(f"EXCLUDED.{qn(c)}" for c in _COMPARED)
        cursor.execute(
            f"INSERT INTO {table} ({column_sql}, {qn('active')}, {qn('created_at')}, {qn('updated_at')}) "  # noqa: S608
            f"SELECT {column_sql}, TRUE, %s, %s FROM emerald_article_import "
            f"ON CONFLICT ({qn('code')}) DO UPDATE SET {updates} "
            f"WHERE ({current}) IS DISTINCT FROM ({incoming}) "
            "RETURNING (xmax = 0)",
            [now, now],
        )
        inserted = [row[0] for row in cursor.fetchall()]
    return sum(inserted), len(inserted) - sum(inserted)


def _write_stock_batch(batch: list[StockRow], result: ImportResult, actor) -> None:
    articles = {a.code: a for a in Article.objects.filter(code__in={r.code for r in batch})}
    warehouses = {w.code: w for w in Warehouse.objects.filter(code__in={r.warehouse for r in batch})}
    current = {
        (s.article_id, s.warehouse_id): s.quantity
        for s in Stock.objects.filter(article__in=articles.values(), warehouse__in=warehouses.values())
    }
    for row in batch:
        article, warehouse = articles[row.code], warehouses[row.warehouse]
        before = current.get((article.pk, warehouse.pk))
        if before is not None and before == row.quantity:
            result.unchanged += 1
            continue
        services.apply_stock_level(
            article=article, warehouse=warehouse, quantity=row.quantity, reference="import_csv", actor=actor
        )
        if before is None:
            result.created += 1
        else:
            result.updated += 1


def _check_stock_references(rows: list[StockRow], errors: list[RowError]) -> list[StockRow]:
    codes = set(Article.objects.filter(code__in={r.code for r in rows}).values_list("code", flat=True))
    inactive = set(Article.objects.filter(code__in={r.code for r in rows}, active=False).values_list("code", flat=True))
    warehouses = set(Warehouse.objects.filter(code__in={r.warehouse for r in rows}).values_list("code", flat=True))
    valid = []
    for row in rows:
        if row.code not in codes:
            errors.append(RowError(row.line, "codigo", row.code, "Artículo inexistente."))
        elif row.code in inactive:
            errors.append(RowError(row.line, "codigo", row.code, "Artículo inactivo."))
        elif row.warehouse not in warehouses:
            errors.append(RowError(row.line, "deposito", row.warehouse, "Depósito inexistente."))
        else:
            valid.append(row)
    return valid


def _process(source: CsvSource, result: ImportResult, *, write: bool, abort: bool, actor, on_progress=None) -> None:
    """One streaming pass: validate each row and, when writing, flush valid rows in batches as they come."""
    seen: dict[tuple, int] = {}
    validate = validate_article if source.kind == "articulos" else validate_stock
    batch: list = []

    def flush():
        rows = batch if source.kind == "articulos" else _check_stock_references(batch, result.errors)
        # In abort mode the first bad row dooms the transaction: keep validating, stop writing.
        if write and rows and not (abort and result.errors):
            _flush(source.kind, rows, result, actor)
        batch.clear()

    for line, raw in source.rows(on_progress):
        result.total += 1
        row, errors = validate(line, raw)
        if row is not None:
            key = (row.code,) if source.kind == "articulos" else (row.code, row.warehouse)
            if key in seen:
                errors = [RowError(line, "codigo", row.code, f"Código duplicado en el archivo (línea {seen[key]}).")]
            else:
                seen[key] = line
        if errors:
            result.errors.extend(errors)
            continue
        batch.append(row)
        if len(batch) >= BATCH:
            flush()
    flush()
    result.errors.sort(key=lambda e: e.line)
    result.invalid = len({e.line for e in result.errors})


def import_file(
    path,
    *,
    kind: str,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    on_error: str = "abort",
    dry_run: bool = False,
    actor=services.SYSTEM,
    on_progress=None,
) -> ImportResult:
    """Validate every row and write the valid ones in bulk batches inside one transaction.

    With on_error=abort any invalid row rolls the whole transaction back, so nothing is written; dry_run only
    validates. The file is streamed once: memory stays flat with file size (only codes are kept, for duplicates).
    """
    if on_error not in ("abort", "skip"):
        raise ImportFileError("--on-error debe ser abort o skip.")
    source = CsvSource(Path(path), kind=kind, delimiter=delimiter, encoding=encoding)
    result = ImportResult(kind=source.kind)
    with transaction.atomic():
        _process(source, result, write=not dry_run, abort=on_error == "abort", actor=actor, on_progress=on_progress)
        if result.total == 0:
            raise ImportFileError("El archivo no tiene filas de datos.")
        if dry_run or (result.errors and on_error == "abort"):
            transaction.set_rollback(True)
            if not dry_run:
                result.created = result.updated = result.unchanged = 0
            return result
    result.written = True
    return result


def _flush(kind, batch, result, actor):
    if kind == "articulos":
        _write_article_batch(batch, result)
    else:
        _write_stock_batch(batch, result, actor)


def write_error_report(result: ImportResult, input_path) -> Path:
    """Write line, column, value, message next to the input file; returns its path."""
    path = Path(input_path).with_name(Path(input_path).stem + ".errores.csv")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["linea", "columna", "valor", "mensaje"])
    for error in result.errors:
        # Values starting with = + - @ would run as formulas in a spreadsheet; quote them as text.
        value = "'" + error.value if error.value[:1] in ("=", "+", "@", "\t", "\r") else error.value
        writer.writerow([error.line, error.column, value, error.message])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    result.report_path = path
    return path
