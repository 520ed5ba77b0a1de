"""Screenshot the billing admin and the auditor UI as staff see them (a manual
check, not a test).

Starts ``manage.py runserver 127.0.0.1:8765 --noreload`` on a throw-away SQLite
database with fresh keys, loads demo data (the first 300 lines of the sample
access log), logs in with Playwright + Debian's chromium and writes PNGs to
``/tmp/mp-shots/``. Nothing is written into the repository.

Usage::

    .venv/bin/pip install playwright   # once; uses /usr/bin/chromium
    .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST, PORT = "127.0.0.1", 8765
BASE = f"http://{HOST}:{PORT}"
OUT = Path("/tmp/mp-shots")
WORK = Path("/tmp/mp-shots-work")
DB = Path("/tmp/mp-shots.sqlite3")
ENV_FILE = Path("/tmp/mp-shots.env")
USER, PASSWORD = "staff", "staff-password-123"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def read_env_file(path: Path) -> dict[str, str]:
    """Return ``KEY=value`` pairs of ``path`` (quotes stripped, ``\\n`` expanded)."""
    values = {}
    for line in path.read_text().splitlines():
        if "=" not in line or line.lstrip().startswith("#"):
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value.replace("\\n", "\n")
    return values


def manage(env: dict[str, str], *args: str) -> str:
    """Run ``manage.py *args``; return stdout, fail loudly on error."""
    proc = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def prepare() -> dict[str, str]:
    """Create the database, keys, superuser and demo data; return the env."""
    for path in (DB, Path(f"{DB}-wal"), Path(f"{DB}-shm"), ENV_FILE):
        path.unlink(missing_ok=True)
    shutil.rmtree(WORK, ignore_errors=True)
    shutil.rmtree(OUT, ignore_errors=True)
    WORK.mkdir(parents=True)
    OUT.mkdir(parents=True)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{DB}",
        "MP_READ_DOT_ENV": "0",
        "MP_VAR_DIR": str(WORK / "var"),
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
    }
    manage(env, "billing_keys", "--env-file", str(ENV_FILE))
    env.update(read_env_file(ENV_FILE))
    manage(env, "migrate", "--noinput")
    manage(
        env, "createsuperuser", "--noinput", "--username", USER, "--email", "s@x.test"
    )
    log = ROOT / "data" / "access-logs" / "apache_logs"
    sample = WORK / "access-300.log"
    sample.write_text("".join(log.read_text().splitlines(keepends=True)[:300]))
    print(manage(env, "demo", "--log", str(sample), "--out", str(WORK / "demo")))
    # A draft next to the published version, so the tariff pages show both.
    manage(
        env,
        "shell",
        "-c",
        "from datetime import UTC, datetime;"
        "from billing.models import Tariff;"
        "from billing.services.tariffs import tariff_version_create;"
        "tariff_version_create(tariff=Tariff.objects.get(tariff_id='api-requests'),"
        " pricing={'model': 'tiered_graduated', 'tiers': ["
        "{'up_to': 100, 'unit_amount_decimal': '2', 'flat_amount': 0},"
        "{'up_to': None, 'unit_amount_decimal': '1.5', 'flat_amount': 100}]},"
        " effective_from=datetime(2030, 1, 1, tzinfo=UTC))",
    )
    # Issue 12's objects: a closed statement, a credit note, a dispute
    # under review, on the tenant with the most bundles.
    manage(
        env,
        "shell",
        "-c",
        "from django.db.models import Count;"
        "from billing.models import Bundle, Tenant;"
        "from billing.services.statements import statement_close;"
        "from billing.services.credit_notes import credit_note_issue;"
        "from billing.services.disputes import dispute_open, dispute_review_start;"
        "t = Tenant.objects.annotate(n=Count('bundles')).order_by('-n').first();"
        "b = list(Bundle.objects.filter(tenant=t).order_by('sequence_number')[:3]);"
        "credit_note_issue(bundle=b[0], amount_minor=-1, reason_code='correction',"
        " reason_text='screenshot: one cent back', actor='system:screenshots');"
        "statement_close(tenant=t, period=b[0].period, actor='system:screenshots');"
        "d = dispute_open(tenant=t, receipt_id=b[1].receipt_id, reason='duplicate',"
        " evidence_text='We sent this request once; our gateway log shows one.');"
        "dispute_open(tenant=t, receipt_id=b[2].receipt_id, reason='wrong_tariff');"
        "dispute_review_start(dispute=d, actor='system:screenshots')",
    )
    return env


def wait_for_port(timeout: float = 30.0) -> None:
    """Block until the dev server accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex((HOST, PORT)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit("runserver did not start")


def shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    """Save a screenshot ``/tmp/mp-shots/<name>.png`` (lists: first screen
    only, as staff first see them; detail pages: the whole page)."""
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print("wrote", path)


def take_screenshots() -> None:
    """Log in and shoot the pages billing staff use most."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{BASE}/admin/login/")
        page.fill("#id_username", USER)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{BASE}/admin/")
        shoot(page, "01-admin-index")

        page.goto(f"{BASE}/admin/billing/tenant/")
        shoot(page, "02-tenant-list", full_page=False)
        page.goto(f"{BASE}/admin/billing/tenant/?q=demo")
        page.check("input[name=_selected_action]")
        page.select_option("select[name=action]", "issue_api_key")
        page.click("button[name=index]")
        page.wait_for_load_state()
        shoot(page, "03-tenant-issue-api-key")
        page.goto(f"{BASE}/admin/billing/tenant/?q=demo")
        page.click("#result_list tbody th a")
        shoot(page, "04-tenant-detail")

        page.goto(f"{BASE}/admin/billing/tariffversion/")
        shoot(page, "05-tariff-version-list", full_page=False)
        page.click("text=api-requests v1 (published)")
        shoot(page, "06-tariff-version-published")
        page.goto(f"{BASE}/admin/billing/tariffversion/")
        page.click("text=api-requests v2 (draft)")
        shoot(page, "07-tariff-version-draft")

        page.goto(f"{BASE}/admin/billing/bundle/")
        shoot(page, "08-bundle-list", full_page=False)
        page.click("#result_list tbody th a")
        shoot(page, "09-bundle-detail")

        page.goto(f"{BASE}/admin/transparency/checkpoint/")
        page.click("#result_list tbody th a")
        shoot(page, "10-checkpoint-detail")
        page.goto(f"{BASE}/admin/transparency/logentry/")
        shoot(page, "11-log-entry-list", full_page=False)

        # The auditor UI (/audit/): staff may use it with the admin session.
        page.goto(f"{BASE}/audit/")
        shoot(page, "12-audit-head")
        page.goto(f"{BASE}/audit/checkpoints/")
        shoot(page, "13-audit-checkpoints", full_page=False)
        page.goto(f"{BASE}/audit/entries/")
        shoot(page, "14-audit-entries", full_page=False)
        page.click("table tbody td a")
        shoot(page, "15-audit-entry-detail")
        page.goto(f"{BASE}/audit/consistency/")
        shoot(page, "16-audit-consistency")

        # Issue 12: statements, credit notes, disputes, the staff audit trail.
        page.goto(f"{BASE}/admin/billing/statement/")
        shoot(page, "17-statement-list", full_page=False)
        page.click("#result_list tbody th a")
        shoot(page, "18-statement-detail")
        page.goto(f"{BASE}/admin/billing/creditnote/")
        shoot(page, "19-credit-note-list", full_page=False)
        page.click("#result_list tbody th a")
        shoot(page, "20-credit-note-detail")
        page.goto(f"{BASE}/admin/billing/dispute/")
        shoot(page, "21-dispute-queue", full_page=False)
        page.click("#result_list tbody th a")
        shoot(page, "22-dispute-detail")
        page.goto(f"{BASE}/audit/trail/")
        shoot(page, "23-audit-trail")
        page.goto(f"{BASE}/audit/trail/?verify=1")
        shoot(page, "24-audit-trail-verified")
        browser.close()


def main() -> None:
    """Prepare data, run the server, shoot, stop the server."""
    env = prepare()
    log = (WORK / "runserver.log").open("w")
    server = subprocess.Popen(
        [PYTHON, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port()
        take_screenshots()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
