"""Benchmark: import_csv of a 100,000-row articulos CSV vs a naive per-row update_or_create loop.

Usage (PostgreSQL, as the target is stated):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/emerald_bench .venv/bin/python bench/import_csv.py [--rows 100000]
It creates/migrates that database if needed, truncates the inventory tables, and prints rows/s, ratio and peak RSS.
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erp.settings")


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("codigo,nombre,material,diametro,categoria,unidad,stock_minimo\n")
        for i in range(rows):
            fh.write(f"B-{i:07d},Caño PEAD {i % 400} mm,PEAD,{(i % 400) + 20}.5,caños,m,{i % 7}\n")


def ensure_database() -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        import psycopg2

        conn = psycopg2.connect(
            dbname="postgres",
            user=db["USER"],
            host=db["HOST"],
            port=db["PORT"] or 5432,
            password=db["PASSWORD"] or None,
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
            if not cur.fetchone():
                cur.execute(f'CREATE DATABASE "{db["NAME"]}"')
        conn.close()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def naive_import(path: Path) -> int:
    """What the spec's command did: one query pair per row."""
    import csv
    from decimal import Decimal

    from inventory.models import Article

    count = 0
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            Article.objects.update_or_create(
                code="N" + row["codigo"],
                defaults={
                    "name": row["nombre"],
                    "material": row["material"],
                    "diameter_mm": Decimal(row["diametro"]),
                    "category": row["categoria"],
                },
            )
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--naive-rows", type=int, default=5_000)
    args = parser.parse_args()

    import django

    django.setup()
    ensure_database()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from inventory.imports import import_file
    from inventory.models import Article, Movement, Stock, StockAlert

    # Raw deletes: a cascading ORM delete would load every row and inflate the RSS being measured.
    for model in (StockAlert, Movement, Stock, Article):
        model.objects.all()._raw_delete(connection.alias)

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "articulos.csv"
        write_csv(big, args.rows)
        size_mb = big.stat().st_size / 1e6

        started = time.perf_counter()
        result = import_file(big, kind="articulos")
        bulk_s = time.perf_counter() - started
        assert result.created == args.rows, result.summary()

        started = time.perf_counter()
        again = import_file(big, kind="articulos")
        reimport_s = time.perf_counter() - started
        assert again.unchanged == args.rows, again.summary()
        rss_after_bulk = peak_rss_mb()

        small = Path(tmp) / "naive.csv"
        write_csv(small, args.naive_rows)
        started = time.perf_counter()
        naive_import(small)
        naive_s = time.perf_counter() - started

    bulk_rate = args.rows / bulk_s
    naive_rate = args.naive_rows / naive_s
    print(f"database: {connection.vendor}")
    print(f"file: {args.rows} rows, {size_mb:.1f} MB")
    print(f"import_csv:          {bulk_rate:10.0f} rows/s  ({bulk_s:.2f} s)")
    print(f"re-import unchanged: {args.rows / reimport_s:10.0f} rows/s  ({reimport_s:.2f} s)")
    print(f"naive update_or_create ({args.naive_rows} rows): {naive_rate:10.0f} rows/s  ({naive_s:.2f} s)")
    print(f"ratio bulk / naive:  {bulk_rate / naive_rate:10.1f}x")
    print(f"peak RSS after the imports: {rss_after_bulk:.0f} MB")


if __name__ == "__main__":
    main()
