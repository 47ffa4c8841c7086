"""Sentry (on only with a DSN, no personal data) and structured logs."""

import os
import subprocess
import sys

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

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


class CapturingTransport(Transport):
    """sentry-sdk's transport interface, keeping each envelope instead of sending it."""

    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)


@pytest.fixture
def sentry_envelopes():
    """Sentry switched on as settings.py does, its transport keeping what it would send."""
    sentry_init(dsn="https://public@sentry.example/1", environment="test", release="r1")
    client = sentry_sdk.get_client()
    client.transport = CapturingTransport(client.options)
    yield client.transport.envelopes
    sentry_sdk.init()


def events_in(envelopes) -> list[dict]:
    sentry_sdk.get_client().flush(timeout=2)
    return [item.payload.json for envelope in envelopes for item in envelope.items if item.type == "event"]


def exceptions_in(envelopes) -> list[str]:
    return [
        value["value"]
        for envelope in envelopes
        for item in envelope.items
        if item.type == "event"
        for value in item.payload.json.get("exception", {}).get("values", [])
    ]


@pytest.mark.urls("tests.ops.urls_broken")
@pytest.mark.django_db
def test_an_error_in_a_view_reaches_sentry(client, sentry_envelopes):
    client.raise_request_exception = False
    assert client.get("/casse/").status_code == 500
    sentry_sdk.get_client().flush(timeout=2)
    assert "le four a explosé" in exceptions_in(sentry_envelopes)


@pytest.mark.django_db
def test_an_error_in_a_job_reaches_sentry(sentry_envelopes):
    from ocpizzapp.jobs import run_job

    def broken():
        raise RuntimeError("sauvegarde impossible")

    with pytest.raises(RuntimeError):
        run_job(name="sauvegarde", work=broken)
    sentry_sdk.get_client().flush(timeout=2)
    assert "sauvegarde impossible" in exceptions_in(sentry_envelopes)


@pytest.mark.urls("tests.ops.urls_broken")
@pytest.mark.django_db
def test_one_failing_request_is_one_event_however_often_it_is_logged_and_reraised(client, sentry_envelopes):
    client.raise_request_exception = False
    assert client.get("/relaie/", {"email": "camille@example.com"}).status_code == 500
    events = events_in(sentry_envelopes)
    assert len(events) == 1, [event.get("logentry") or event.get("exception") for event in events]


@pytest.mark.django_db
def test_a_database_outage_during_a_request_is_one_event(client, sentry_envelopes, monkeypatch):
    from django.db import OperationalError

    from tests.factories import UserFactory

    def outage(**kwargs):
        raise OperationalError("connection refused")

    # The database goes away while the staff screen reads who is asking.
    monkeypatch.setattr("production.decorators.staff_member_for", outage)

    client.force_login(UserFactory())
    assert client.get("/equipe/").status_code == 503
    assert len(events_in(sentry_envelopes)) == 1


@pytest.mark.django_db
def test_a_failing_job_is_one_event(sentry_envelopes):
    from ocpizzapp.jobs import run_job

    def broken():
        try:
            raise ConnectionRefusedError("smtp")
        except ConnectionRefusedError as error:
            raise RuntimeError("rapport du jour non envoyé") from error

    with pytest.raises(RuntimeError):
        run_job(name="rapport", work=broken)
    assert len(events_in(sentry_envelopes)) == 1


@pytest.mark.urls("tests.ops.urls_broken")
@pytest.mark.django_db
def test_no_email_address_reaches_sentry(client, sentry_envelopes):
    import json

    client.raise_request_exception = False
    client.get("/relaie/?email=camille.dupont%2Bpizza@example.com&autre=camille@example.com")
    client.get("/casse/", {"email": "camille@example.com"})
    sentry_sdk.get_client().flush(timeout=2)
    sent = [item.get_bytes() for envelope in sentry_envelopes for item in envelope.items]
    assert sent
    everything = b"".join(sent).decode()
    assert "example.com" not in everything and "camille" not in everything
    assert "[adresse masquée]" in json.dumps(events_in(sentry_envelopes), ensure_ascii=False)


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_every_log_line_is_in_utc(log_format):
    """Before and after the settings load (which switch the process to Paris time), lines say UTC."""
    import datetime
    import json

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ocpizzapp.settings", "LOG_FORMAT": log_format, "TZ": "UTC"}
    code = (
        "import django, logging; django.setup(); "
        "from ocpizzapp.ops.deploylog import deploy_log_line; "
        "logging.getLogger('ocpizzapp.jobs').warning('heure'); print(deploy_log_line(event='Heure', ok=True))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    now = datetime.datetime.now(datetime.UTC)
    line = result.stderr.strip().splitlines()[-1]
    stamp = json.loads(line)["time"] if log_format == "json" else line.split(" ")[0]
    assert stamp.endswith("Z"), line
    logged = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.UTC)
    assert abs((now - logged).total_seconds()) < 60, (stamp, now)
    deploy_stamp = result.stdout.split(" : ")[0]
    deployed = datetime.datetime.strptime(deploy_stamp, "%Y-%m-%d_%H-%M-%S-%f").replace(tzinfo=datetime.UTC)
    assert abs((now - deployed).total_seconds()) < 60, (deploy_stamp, now)
