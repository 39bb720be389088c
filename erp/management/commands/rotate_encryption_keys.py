"""Re-encrypt every EncryptedTextField value with the first key of FIELD_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand
from django.db import transaction

from erp.fields import encrypted_fields


class Command(BaseCommand):
    help = "Re-cifra las credenciales guardadas con la primera clave de FIELD_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        total = 0
        with transaction.atomic():
            for model, field_name in encrypted_fields():
                # Reading decrypts with any key; update() encrypts again with the first one.
                rows = model._default_manager.filter(**{f"{field_name}__isnull": False})
                count = 0
                for pk, value in rows.values_list("pk", field_name).iterator():
                    if not value:
                        continue
                    model._default_manager.filter(pk=pk).update(**{field_name: value})
                    count += 1
                total += count
                self.stdout.write(f"{model._meta.label}.{field_name}: {count}")
        self.stdout.write(self.style.SUCCESS(f"Valores re-cifrados: {total}"))
