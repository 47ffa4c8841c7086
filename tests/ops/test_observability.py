"""Sentry (on only with a DSN, no personal data) and structured logs."""

import os
import subprocess
import sys

import sentry_sdk

from ocpizzapp.sentry import sentry_init
from tests.ops.conftest import ROOT


def test_nothing_is_sent_without_a_dsn():
    env = {key: value for key, value in os.environ.items() if key != "SENTRY_DSN"}
    env["DJANGO_SETTINGS_MODULE"] = "ocpizzapp.settings"
    code = "import django, sentry_sdk; django.setup(); print(sentry_sdk.get_client().is_active())"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_sentry_reports_with_environment_and_release_but_no_pii():
    sent = []
    try:
        sentry_init(dsn="https://public@sentry.example/1", environment="production", release="abc123")
        client = sentry_sdk.get_client()
        client.transport.capture_envelope = sent.append
        assert not client.should_send_default_pii()
        assert (client.options["environment"], client.options["release"]) == ("production", "abc123")
        assert any(type(i).__name__ == "DjangoIntegration" for i in client.integrations.values())
        sentry_sdk.capture_message("test")
        client.flush(timeout=2)
        assert sent
    finally:
        sentry_sdk.init()


def test_json_logs_are_one_object_per_line():
    import json

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ocpizzapp.settings", "LOG_FORMAT": "json"}
    code = "import django, logging; django.setup(); logging.getLogger('ocpizzapp.jobs').warning('job %s failed', 'x')"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert entry["level"] == "WARNING" and entry["message"] == "job x failed" and entry["logger"] == "ocpizzapp.jobs"
