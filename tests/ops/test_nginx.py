"""gunicorn and the stream server behind nginx on loopback, with the project's own conf files."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.ops.conftest import make_site_env, manage
from tests.ops.servers import (
    DEPLOY,
    ROOT,
    UnixHTTPConnection,
    free_port,
    get,
    gunicorn_command,
    render,
    stop,
    streams_command,
    wait_until,
)

pytestmark = pytest.mark.nginx
DOMAIN = "ocpizza.test"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A production-mode site: gunicorn on a socket, nginx on a free loopback port."""
    tmp_path = tmp_path_factory.mktemp("nginx")
    site_env = make_site_env(tmp_path)
    socket_path = tmp_path / "gunicorn.sock"
    streams_socket = tmp_path / "streams.sock"
    site_env.update(ALLOWED_HOSTS=DOMAIN, SECURE_SSL_REDIRECT="0", STATIC_ROOT=str(tmp_path / "static"))
    manage("migrate", "--noinput", env=site_env, check=True)
    manage("collectstatic", "--noinput", env=site_env, check=True)
    manage("seed_demo", env=site_env, check=True)
    replacements = {
        "@GUNICORN_SOCKET@": str(socket_path),
        "@STREAMS_SOCKET@": str(streams_socket),
        "@OCPIZZA_HOME@": str(tmp_path),
        "@OCPIZZA_DOMAIN@": DOMAIN,
        "@OCPIZZA_VENV@": "/venv",
        "@OCPIZZA_APP@": str(ROOT),
    }
    port = free_port()
    site_conf = render(DEPLOY / "conf_files" / "nginx_ocpizza", replacements)
    site_conf = site_conf.replace("listen 80;", f"listen 127.0.0.1:{port};").replace("listen [::]:80;", "")
    (tmp_path / "site.conf").write_text(site_conf)
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / folder).mkdir()
    (tmp_path / "nginx.conf").write_text(
        ("user root root;\n" if os.geteuid() == 0 else "")
        + f"""daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/nginx-error.log;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {tmp_path}/nginx-access.log;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/site.conf;
}}
"""
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    checked = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr

    gunicorn = subprocess.Popen(
        gunicorn_command(replacements),
        cwd=ROOT,
        env=site_env,
        stdout=open(tmp_path / "gunicorn.log", "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    streams = subprocess.Popen(
        streams_command(replacements),
        cwd=ROOT,
        env=site_env,
        stdout=open(tmp_path / "streams.log", "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    web = subprocess.Popen(
        [nginx, "-c", str(tmp_path / "nginx.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(
            lambda: get(UnixHTTPConnection(str(socket_path)), "/healthz", {"Host": DOMAIN})[0] == 200,
            what="gunicorn",
        )
        wait_until(
            lambda: get(UnixHTTPConnection(str(streams_socket)), "/flux/sante", {"Host": DOMAIN})[0] == 503,
            what="the stream server",
        )
        wait_until(lambda: get(_nginx(port), "/healthz", {"Host": DOMAIN})[0] == 200, what="nginx")
        yield {
            "port": port,
            "socket": str(socket_path),
            "streams": str(streams_socket),
            "static": Path(site_env["STATIC_ROOT"]),
        }
    finally:
        stop(web)
        stop(streams)
        stop(gunicorn)


def _nginx(port):
    import http.client

    return http.client.HTTPConnection("127.0.0.1", port, timeout=10)


def test_page_through_nginx(site):
    status, headers, body = get(_nginx(site["port"]), "/", {"Host": DOMAIN})
    assert status == 200
    assert headers["Server"].startswith("nginx")
    assert "OC Pizza" in body.decode()
    status, _, body = get(_nginx(site["port"]), "/healthz", {"Host": DOMAIN})
    assert (status, json.loads(body)["status"]) == (200, "ok")


def test_static_file_served_by_nginx(site):
    status, headers, body = get(_nginx(site["port"]), "/static/css/ocpizza.css", {"Host": DOMAIN})
    assert status == 200
    assert body == (site["static"] / "css" / "ocpizza.css").read_bytes()
    # nginx's own "expires 30d": the file did not go through Django.
    assert headers["Cache-Control"] == "max-age=2592000"


def test_proxy_headers_reach_django(site):
    """nginx passes the Host and sets X-Forwarded-Proto itself, whatever the client sent."""
    spoofed = {"Host": DOMAIN, "X-Forwarded-Proto": "https"}
    # Straight to gunicorn, Django trusts the header: the response is HSTS-marked as secure.
    _, direct_headers, _ = get(UnixHTTPConnection(site["socket"]), "/", spoofed)
    assert "Strict-Transport-Security" in direct_headers
    # Through nginx the client's claim is replaced by the real scheme, http.
    status, headers, _ = get(_nginx(site["port"]), "/", spoofed)
    assert status == 200  # the Host reached Django: it is in ALLOWED_HOSTS
    assert "Strict-Transport-Security" not in headers
    status, _, _ = get(_nginx(site["port"]), "/", {"Host": "intruder.example"})
    assert status == 400


def test_a_form_posted_behind_a_non_standard_port_passes_csrf(site):
    """nginx must pass the Host with its port: CSRF compares the Origin with it, port included."""
    origin = f"http://{DOMAIN}:{site['port']}"
    status, headers, body = get(_nginx(site["port"]), "/compte/connexion/", {"Host": f"{DOMAIN}:{site['port']}"})
    assert status == 200
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    assert token
    connection = _nginx(site["port"])
    form = urlencode({"csrfmiddlewaretoken": token.group(1).decode(), "username": "x@example.com", "password": "y"})
    try:
        connection.request(
            "POST",
            "/compte/connexion/",
            body=form,
            headers={
                "Host": f"{DOMAIN}:{site['port']}",
                "Origin": origin,
                "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        response = connection.getresponse()
        text = response.read().decode()
    finally:
        connection.close()
    # The form was judged (wrong password), not refused by CSRF.
    assert response.status == 200, text[:500]
    assert "Formulaire expiré" not in text


def test_streams_go_to_the_stream_server(site):
    """/flux/ reaches the stream server (SQLite here: it answers that streams are off), the pages gunicorn."""
    status, headers, body = get(_nginx(site["port"]), "/flux/sante", {"Host": DOMAIN})
    assert (status, json.loads(body)) == (503, {"status": "off"})
    assert headers["Server"].startswith("nginx")
    # gunicorn, asked the same, says it is not the stream server.
    _, _, direct = get(UnixHTTPConnection(site["socket"]), "/flux/sante", {"Host": DOMAIN})
    assert json.loads(direct)["status"] == "error"
    # The stream server serves nothing else.
    status, _, body = get(UnixHTTPConnection(site["streams"]), "/", {"Host": DOMAIN})
    assert status == 404 and "gunicorn" in body.decode()
    conf = render(DEPLOY / "conf_files" / "nginx_ocpizza", {})
    streams = conf[conf.index("location /flux/") :].split("}", 1)[0]
    assert "proxy_buffering off;" in streams and "proxy_read_timeout 20m;" in streams
