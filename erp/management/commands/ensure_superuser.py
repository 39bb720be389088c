"""Create the first superuser if none exists (used by `make run`)."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Crea el primer superusuario si no existe ninguno."

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        email = settings.EMERALD_SUPERUSER_EMAIL
        password = settings.EMERALD_SUPERUSER_PASSWORD or secrets.token_urlsafe(12)
        User.objects.create_superuser(email, password)
        shown = password if not settings.EMERALD_SUPERUSER_PASSWORD else "(EMERALD_SUPERUSER_PASSWORD)"
        # Printed once, on purpose: this is the only time the generated password exists in clear text.
        self.stdout.write(self.style.SUCCESS(f"Superusuario creado: {email} / contraseña: {shown}"))
