"""Lighthouse, as a phone on a mobile network sees the storefront served in production mode.

The npm package (pinned in package.json, installed by ``npm ci``) drives Debian's Chromium headless with its
mobile settings (simulated slow 4G and a slower CPU) against gunicorn serving a demo site exactly as on a
server: ``ENV_MODE=production``, DEBUG off, static files collected, compressed and cached by WhiteNoise.
The cart and checkout are audited with a guest's cart in the session, the tracking page through the signed
link a guest receives, so each page is seen as its visitor sees it, photos included.
"""

import itertools
import json
import os
import statistics
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import LIGHTHOUSE
from tests.ops.conftest import ROOT, make_site_env, manage
from tests.ops.servers import free_port, stop, wait_until

pytestmark = [pytest.mark.lighthouse, pytest.mark.e2e]

CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
MINIMUM_SCORE = 98
TRACE_ATTEMPTS = 3
# Lighthouse's CPU slowdown turns the host into its reference phone only on a host of the speed it assumes: its
# default 4x is meant for a benchmark index of 1533. Its throttling guide ("Calibrating multipliers", and the
# calculator it links) maps a host's index to the slowdown that emulates the same phone: the index at which each
# slowdown is right, with a straight line between them. Its measures end at 2000 (6x): past them its straight line
# runs on to 14x at 3800, where every hiccup of the host is a long task fourteen times over (a page then scored 74
# to 97 from one run to the next), so a faster host keeps 6x, still harder than Lighthouse's own mobile setting.
CPU_SLOWDOWN_BY_BENCHMARK_INDEX = ((150, 1.0), (800, 2.0), (1300, 3.0), (1533, 4.0), (2000, 6.0))
LIGHTHOUSE_MOBILE_SLOWDOWN = 4.0
CALIBRATION_TOLERANCE = 0.5
CALIBRATION_ATTEMPTS = 3
CHROMIUM_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update"
    " --disable-sync --no-first-run"
)


@pytest.fixture
def storefront(tmp_path):
    """The demo chain served by gunicorn in production mode on a local port: its address."""
    env = make_site_env(tmp_path)
    port = free_port()
    # Plain HTTP on localhost, which browsers hold as secure as HTTPS (secure cookies included): nginx's TLS
    # is not what is audited here.
    env.update(SECURE_SSL_REDIRECT="false", SITE_URL=f"http://localhost:{port}")
    for command in (("migrate", "--noinput"), ("seed_demo",), ("collectstatic", "--noinput")):
        manage(*command, env=env, check=True)
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "2", "ocpizzapp.wsgi:application"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: _answers(f"http://localhost:{port}/healthz"), what="gunicorn")
        yield f"http://localhost:{port}"
    finally:
        stop(server)


def _answers(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status == 200


def _fill_a_cart(page, base: str) -> None:
    """What a guest does first: the first pizzeria's menu, a pizza chosen in its sheet, a drink in one tap."""
    from playwright.sync_api import expect

    page.goto(f"{base}/")
    page.get_by_role("link", name="Voir la carte").first.click()
    page.get_by_role("link", name="Ajouter Margherita").click()
    page.get_by_role("dialog").get_by_role("button", name="Ajouter").click()
    expect(page.locator("#cart-bar .cart-bar-count")).to_contain_text("1 article")
    page.get_by_role("button", name="Ajouter Peroni").click()
    expect(page.locator("#cart-bar .cart-bar-count")).to_contain_text("2 articles")


def _guest_visits(base: str) -> tuple[str, str]:
    """A guest's session cookie holding a cart, and the signed tracking link of another guest's placed order."""
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            ordering = browser.new_page(viewport={"width": 390, "height": 844})
            _fill_a_cart(ordering, base)
            ordering.goto(f"{base}/commander/")
            ordering.get_by_label("Nom").fill("Camille Martin")
            ordering.get_by_label("Téléphone").fill("06 12 34 56 78")
            ordering.get_by_label("E-mail").fill("camille@example.com")
            ordering.get_by_label("À emporter").check()
            ordering.get_by_label("Espèces").check()
            ordering.get_by_role("button", name="Valider la commande").click()
            expect(ordering.get_by_role("heading", level=1)).to_contain_text("Commande ")
            tracking = ordering.url
            assert "?t=" in tracking, tracking

            browsing = browser.new_page(viewport={"width": 390, "height": 844})
            _fill_a_cart(browsing, base)
            cookies = browsing.context.cookies(base)
            session = "; ".join(f"{cookie['name']}={cookie['value']}" for cookie in cookies)
        finally:
            browser.close()
    return session, tracking


def cpu_slowdown_for(benchmark_index: float) -> float:
    """The CPU slowdown that makes a host of this Lighthouse benchmark index the phone Lighthouse emulates."""
    anchors = CPU_SLOWDOWN_BY_BENCHMARK_INDEX
    if benchmark_index <= anchors[0][0]:
        # Slower than that, the host cannot emulate the phone at all: it is measured as it is.
        return anchors[0][1]
    if benchmark_index >= anchors[-1][0]:
        return anchors[-1][1]
    (low_index, low), (high_index, high) = next(
        pair for pair in itertools.pairwise(anchors) if benchmark_index <= pair[1][0]
    )
    return round(low + (benchmark_index - low_index) * (high - low) / (high_index - low_index), 2)


class Host:
    """The CPU slowdown the host called for at its last measure (the other tests load it more or less over
    time), 4x until it is measured."""

    def __init__(self) -> None:
        self.cpu_slowdown = LIGHTHOUSE_MOBILE_SLOWDOWN


def _lighthouse(url: str, *, extra_headers: Path, report: Path, cpu_slowdown: float) -> dict:
    """One Lighthouse run on ``url``: its report."""
    for attempt in range(1, TRACE_ATTEMPTS + 1):
        result = subprocess.run(
            [
                str(LIGHTHOUSE),
                url,
                "--output=json",
                f"--output-path={report}",
                f"--only-categories={','.join(CATEGORIES)}",
                f"--chrome-flags={CHROMIUM_FLAGS}",
                f"--extra-headers={extra_headers}",
                f"--throttling.cpuSlowdownMultiplier={cpu_slowdown}",
                "--quiet",
            ],
            env={**os.environ, "CHROME_PATH": "/usr/bin/chromium"},
            capture_output=True,
            text=True,
            timeout=240,
        )
        # Lighthouse's own trace of the load sometimes misses its start on a busy machine (NO_NAVSTART and
        # kin): it asks to be run again. That is a failed measure, not a score; the page is measured again.
        if result.returncode != 0 and "Please run Lighthouse again" in result.stderr and attempt < TRACE_ATTEMPTS:
            continue
        assert result.returncode == 0, result.stderr[-3000:]
        break
    audited = json.loads(report.read_text())
    assert audited.get("runtimeError") is None, audited["runtimeError"]
    # The page itself was audited, not where it sends a visitor it does not expect (an empty cart's checkout
    # sends him home).
    assert audited["finalDisplayedUrl"] == url, (url, audited["finalDisplayedUrl"])
    return audited


def _audit(url: str, *, headers: dict[str, str], folder: Path, host: Host) -> dict[str, int]:
    """A Lighthouse run on ``url`` whose CPU slowdown is the one the host called for during that very run: the
    score of each category. The benchmark Lighthouse runs before each load swings by a quarter or more from
    one run to the next, so a run is done again, with the slowdown it measured, while that differs from the
    one it was given; of the runs made, the one given the slowdown closest to its own is kept (the last may
    have measured a swing of its own)."""
    extra_headers = folder / "headers.json"
    extra_headers.write_text(json.dumps(headers))
    runs = []
    for _ in range(CALIBRATION_ATTEMPTS):
        given = host.cpu_slowdown
        report = folder / f"report-{len(list(folder.glob('report-*.json')))}.json"
        audited = _lighthouse(url, extra_headers=extra_headers, report=report, cpu_slowdown=given)
        host.cpu_slowdown = cpu_slowdown_for(audited["environment"]["benchmarkIndex"])
        runs.append((abs(host.cpu_slowdown - given), audited))
        if runs[-1][0] <= CALIBRATION_TOLERANCE:
            break
    _, calibrated = min(runs, key=lambda run: run[0])
    return {name: round(calibrated["categories"][name]["score"] * 100) for name in CATEGORIES}


def _scores(url: str, *, headers: dict[str, str], folder: Path, host: Host) -> dict[str, int]:
    """A page's scores; when one falls short, the median of three runs, as Lighthouse advises against the
    variance of one run."""
    first = _audit(url, headers=headers, folder=folder, host=host)
    if min(first.values()) >= MINIMUM_SCORE:
        return first
    runs = [first, *(_audit(url, headers=headers, folder=folder, host=host) for _ in range(2))]
    return {name: statistics.median(run[name] for run in runs) for name in CATEGORIES}


def _shows(url: str, *, headers: dict[str, str], texts: tuple[str, ...]) -> bool:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        page = response.read().decode()
    return response.status == 200 and all(text in page for text in texts)


def test_every_storefront_page_scores_at_least_98_on_a_phone(storefront, tmp_path):
    session, tracking = _guest_visits(storefront)
    cart = {"Cookie": session}
    pages = {
        "Accueil": (f"{storefront}/", {}),
        "Carte": (f"{storefront}/pizzeria/bastille/", {}),
        "Panier": (f"{storefront}/panier/", cart),
        "Commande": (f"{storefront}/commander/", cart),
        "Suivi": (tracking, {}),
    }
    assert _shows(f"{storefront}/panier/", headers=cart, texts=("Margherita", "Peroni"))
    # A first run, whose scores are not kept, measures the host.
    host = Host()
    (tmp_path / "calibration").mkdir()
    _audit(f"{storefront}/", headers={}, folder=tmp_path / "calibration", host=host)
    results = {}
    for name, (url, headers) in pages.items():
        folder = tmp_path / name
        folder.mkdir()
        results[name] = _scores(url, headers=headers, folder=folder, host=host)

    if folder := os.environ.get("UI_SCREENSHOTS"):
        _write_report(Path(folder) / "lighthouse.md", results)
    below = {
        name: {category: score for category, score in scores.items() if score < MINIMUM_SCORE}
        for name, scores in results.items()
    }
    assert {name: low for name, low in below.items() if low} == {}


@pytest.mark.parametrize(
    ("benchmark_index", "slowdown"),
    [(100, 1.0), (475, 1.5), (800, 2.0), (1050, 2.5), (1533, 4.0), (1766, 5.0), (2000, 6.0), (3800, 6.0)],
)
def test_the_cpu_slowdown_follows_lighthouse_s_calibration_of_the_host(benchmark_index, slowdown):
    assert cpu_slowdown_for(benchmark_index) == slowdown


def _write_report(path: Path, results: dict[str, dict[str, int]]) -> None:
    lines = [
        "# Lighthouse on the storefront, as a phone sees it",
        "",
        "Measured by `tests/ops/test_lighthouse.py`: Lighthouse 12.2.3 (npm), Debian's Chromium headless, mobile",
        "settings (simulated slow 4G, the CPU slowdown calibrated to the host's benchmark index as Lighthouse's",
        "throttling guide directs: 4x on a host of index 1533, 6x from 2000, where its measures end), gunicorn in",
        "production mode; the cart and checkout with a guest's cart, the tracking page through its signed link.",
        f"Each score must be at least {MINIMUM_SCORE}.",
        "",
        "| Page | Performance | Accessibility | Best practices | SEO |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, scores in results.items():
        lines.append(f"| {name} | " + " | ".join(str(scores[category]) for category in CATEGORIES) + " |")
    path.write_text("\n".join(lines) + "\n")
