"""Settings of the real Celery worker started by test_worker_crash.py: the project's, plus test switches."""

from erp.settings import *  # noqa: F403

# The receiver listens on 127.0.0.1, and a short lease lets the test see a killed sender's rows freed quickly.
WEBHOOK_ALLOW_PRIVATE_TARGETS = True
WEBHOOK_SEND_LEASE_SECONDS = 4
WEBHOOK_SENDER_FLAG_TTL_SECONDS = 3  # the killed sender's flag expires quickly too
