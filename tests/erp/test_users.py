"""The staff user: UUID primary key, email login, one account per email whatever its case."""

import uuid

import pytest
from django.db import IntegrityError

pytestmark = pytest.mark.django_db


def test_users_have_uuid_keys_and_lower_case_emails(django_user_model):
    user = django_user_model.objects.create_user("Ana.Perez@ISP.com.ar", "pw-largo-123")
    assert isinstance(user.pk, uuid.UUID)
    assert user.email == "ana.perez@isp.com.ar"


def test_the_same_email_in_another_case_is_one_account(django_user_model):
    django_user_model.objects.create_user("ana@isp.com.ar", "pw-largo-123")
    with pytest.raises(IntegrityError):
        django_user_model.objects.create_user("ANA@isp.com.ar", "pw-largo-123")


def test_first_superuser_is_created_once(capsys, django_user_model, settings):
    from django.core.management import call_command

    settings.EMERALD_SUPERUSER_PASSWORD = ""
    call_command("ensure_superuser")
    call_command("ensure_superuser")
    assert django_user_model.objects.filter(is_superuser=True).count() == 1
    assert "contraseña" in capsys.readouterr().out
