"""Benchmark: how long checking an external API key takes (hash verification and the full lookup).

Usage: .venv/bin/python bench/api_keys.py [--n 5000]   (uses the configured database; embedded SQLite by default)
Prints the median and p99 of the hash check alone and of verify_key (prefix lookup + hash + status checks).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erp.settings")


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from integrations import api_keys
    from integrations.models import ExternalAPIKey

    row, key = api_keys.create_key(name="bench", system="bench", scopes=["read"])
    try:
        hashes, lookups = [], []
        for _ in range(args.n):
            started = time.perf_counter()
            row.is_valid(key)
            hashes.append((time.perf_counter() - started) * 1e6)
            started = time.perf_counter()
            api_keys.verify_key(key)
            lookups.append((time.perf_counter() - started) * 1e6)
        print(f"hash check:  median {statistics.median(hashes):7.1f} µs   p99 {percentile(hashes, 0.99):7.1f} µs")
        print(f"verify_key:  median {statistics.median(lookups):7.1f} µs   p99 {percentile(lookups, 0.99):7.1f} µs")
    finally:
        ExternalAPIKey.objects.filter(pk=row.pk).delete()


if __name__ == "__main__":
    main()
