"""update_lhc: applies a bundle, rolls it back, refuses to write outside the project."""

import os
import re
import time

import pytest
from django.core.management import CommandError, call_command


@pytest.fixture
def update(tmp_path, settings):
    settings.BACKUP_DIR = tmp_path / "backups"
    project = tmp_path / "project"
    (project / "production" / "templates").mkdir(parents=True)
    (project / "production" / "historic.py").write_text("VERSION = '2.5'\n")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "historic_2.6.py").write_text("VERSION = '2.6'\n")
    (bundle / "historic_2.6.html").write_text("<p>2.6</p>\n")
    (bundle / "pizza_tokyo.png").write_bytes(b"\x89PNG tokyo")
    controller = bundle / "controller.ini"
    controller.write_text(
        "[light_components]\n"
        "pizza_tokyo.png = static/img/pizza_tokyo.png\n"
        "[heavy_components]\n"
        "historic_2.6.py = production/historic.py\n"
        "historic_2.6.html = production/templates/historic.html\n"
    )
    return project, controller


def _run(controller, project, *extra):
    call_command("update_lhc", f"--controller={controller}", f"--project={project}", *extra)


def test_dry_run_changes_nothing(update, capsys):
    project, controller = update
    _run(controller, project, "--dry-run")
    out = capsys.readouterr().out
    assert "replace : production/historic.py" in out and "create : static/img/pizza_tokyo.png" in out
    assert (project / "production" / "historic.py").read_text() == "VERSION = '2.5'\n"
    assert not (project / "static").exists()


def test_apply_then_rollback(update):
    project, controller = update
    _run(controller, project)
    assert (project / "production" / "historic.py").read_text() == "VERSION = '2.6'\n"
    assert (project / "static" / "img" / "pizza_tokyo.png").read_bytes() == b"\x89PNG tokyo"
    assert (project / "production" / "templates" / "historic.html").exists()

    _run(controller, project, "--rollback")
    assert (project / "production" / "historic.py").read_text() == "VERSION = '2.5'\n"
    assert not (project / "static" / "img" / "pizza_tokyo.png").exists()
    assert not (project / "production" / "templates" / "historic.html").exists()
    with pytest.raises(CommandError, match="Aucune mise à jour"):
        _run(controller, project, "--rollback")


@pytest.mark.parametrize(
    "destination", ["../outside.py", "/etc/cron.d/evil.py", "production/../../outside.py", ".git/hooks/x.py"]
)
def test_destination_outside_the_project_is_refused(update, destination, tmp_path):
    project, controller = update
    controller.write_text(f"[heavy_components]\nhistoric_2.6.py = {destination}\n")
    with pytest.raises(CommandError, match="refusée"):
        _run(controller, project)
    assert not (tmp_path / "outside.py").exists()


def test_component_in_the_wrong_category_is_refused(update):
    project, controller = update
    controller.write_text("[light_components]\nhistoric_2.6.py = production/historic.py\n")
    with pytest.raises(CommandError, match="catégorie light_components"):
        _run(controller, project)
    assert (project / "production" / "historic.py").read_text() == "VERSION = '2.5'\n"


def test_the_manuals_dotted_destination_is_refused_with_the_path_it_meant(update):
    """``ocpizzapp.models.py`` must not become a stray file at the project's root."""
    project, controller = update
    controller.write_text("[heavy_components]\nhistoric_2.6.py = production.historic.py\n")
    with pytest.raises(CommandError, match=re.escape("écrire le chemin avec des /, par ex. production/historic.py")):
        _run(controller, project)
    assert not (project / "production.historic.py").exists()
    assert (project / "production" / "historic.py").read_text() == "VERSION = '2.5'\n"


def test_placed_files_are_newer_than_what_collectstatic_collected(update):
    """collectstatic skips a file older than its collected copy: an update or a rollback must never be."""
    project, controller = update
    bundle_file = controller.parent / "historic_2.6.py"
    os.utime(bundle_file, (1_000_000_000, 1_000_000_000))  # a bundle built long ago
    old = project / "production" / "historic.py"
    os.utime(old, (1_000_000_000, 1_000_000_000))
    before = time.time() - 1
    _run(controller, project)
    assert old.stat().st_mtime >= before
    _run(controller, project, "--rollback")
    assert old.read_text() == "VERSION = '2.5'\n"
    assert old.stat().st_mtime >= before
