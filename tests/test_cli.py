import subprocess
import sys

from medkb.cli import COMMAND_MODULES, build_parser, main


def test_help_lists_every_command_group(capsys):
    parser = build_parser()
    text = parser.format_help()
    for module in COMMAND_MODULES:
        group = module.rsplit(".", 1)[-1]
        assert group in text, f"--help does not list {group}"


def test_group_without_subcommand_shows_its_help(capsys):
    assert main(["db"]) == 2
    assert "migrate" in capsys.readouterr().out


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "medkb.cli", "--help"], capture_output=True, text=True, check=True)
    assert "usage: medkb" in out.stdout


def test_missing_settings_is_one_clear_line(monkeypatch, capsys):
    monkeypatch.delenv("MEDKB_PG_URI", raising=False)
    assert main(["db", "status"]) == 1
    err = capsys.readouterr().err
    assert "MEDKB_PG_URI is not set" in err and "Traceback" not in err
