"""`import_csv <file> --tipo articulos|stock`: the command-line face of inventory.imports."""

import sys

from django.core.management.base import BaseCommand, CommandError

from inventory.imports import KINDS, ImportFileError, import_file, write_error_report


class Command(BaseCommand):
    help = "Importa artículos o stock desde un CSV (valida todo; escribe en lotes dentro de una transacción)."

    def add_arguments(self, parser):
        parser.add_argument("archivo")
        parser.add_argument("--tipo", required=True, choices=KINDS)
        parser.add_argument("--dry-run", action="store_true", help="Solo valida; no escribe nada.")
        parser.add_argument("--delimiter", default=None, help="Separador; se detecta si se omite.")
        parser.add_argument("--encoding", default="utf-8")
        parser.add_argument("--on-error", default="abort", choices=("abort", "skip"))

    def handle(self, *args, **options):
        progress = self._progress_bar(options["archivo"]) if sys.stderr.isatty() else None
        try:
            result = import_file(
                options["archivo"],
                kind=options["tipo"],
                delimiter=options["delimiter"],
                encoding=options["encoding"],
                on_error=options["on_error"],
                dry_run=options["dry_run"],
                on_progress=progress,
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        if progress:
            sys.stderr.write("\n")
        if result.errors:
            report = write_error_report(result, options["archivo"])
            self.stderr.write(f"{len(result.errors)} errores en {result.invalid} filas; detalle en {report}")
        self.stdout.write(result.summary() + (" (dry-run: nada escrito)" if options["dry_run"] else ""))
        if result.errors and options["on_error"] == "abort":
            raise CommandError("Importación abortada: no se escribió nada.", returncode=1)

    @staticmethod
    def _progress_bar(path):
        import os

        size = max(os.path.getsize(path), 1)

        def show(position: int) -> None:
            done = int(30 * position / size)
            sys.stderr.write(f"\r[{'#' * done}{'.' * (30 - done)}] {100 * position // size:3d}%")
            sys.stderr.flush()

        return show
