"""`sync_erp [--connection NAME]`: run the ERP synchronisation now, in this process."""

from django.core.management.base import BaseCommand, CommandError

from erp.locks import AlreadyRunningError
from integrations.models.erp_sync import ErpConnection
from integrations.sync import erp


class Command(BaseCommand):
    help = "Sincroniza artículos, stock y movimientos con el ERP."

    def add_arguments(self, parser):
        parser.add_argument("--connection", help="Nombre de la conexión (por defecto, todas las habilitadas).")

    def handle(self, *args, **options):
        connections = ErpConnection.objects.filter(enabled=True).order_by("pk")
        if options["connection"]:
            connections = connections.filter(name=options["connection"])
            if not connections.exists():
                raise CommandError(f"No hay una conexión ERP habilitada llamada '{options['connection']}'.")
        failed = False
        for connection in connections:
            try:
                run = erp.sync_erp(connection)
            except AlreadyRunningError as exc:
                raise CommandError(f"{connection.name}: ya hay una sincronización en curso ({exc.message})") from exc
            self.stdout.write(f"{connection.name}: {run.counts}" + (f" — {run.error}" if run.error else ""))
            failed = failed or not run.ok
        if failed:
            raise CommandError("La sincronización terminó con errores (ver registros de sincronización).")
