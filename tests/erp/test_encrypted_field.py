"""Credentials at rest: EncryptedTextField stores Fernet tokens, keys rotate, and lookups on ciphertext are refused."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from erp import fields
from erp.fields import EncryptedTextField


def test_values_are_stored_encrypted_and_read_back_in_clear():
    field = EncryptedTextField()
    stored = field.get_prep_value("router-password")
    assert "router-password" not in stored
    assert field.from_db_value(stored, None, None) == "router-password"
    assert field.get_prep_value("router-password") != stored  # randomised: equal secrets do not look equal


def test_a_new_first_key_encrypts_while_old_values_still_decrypt(settings):
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    token = fields.encrypt("s3cret")
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert fields.decrypt(token) == "s3cret"
    rotated = fields.rotate(token)
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert fields.decrypt(rotated) == "s3cret"
    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
        fields.decrypt(token)


def test_lookups_on_ciphertext_are_refused():
    with pytest.raises(TypeError, match="does not support"):
        EncryptedTextField().get_lookup("exact")
