"""The local pseudonym key: made per machine on first use, kept out of git, never a public default."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _key(local: Path, **env: str) -> str:
    out = subprocess.run(
        ["bash", "-c", f"source {ROOT / 'ops' / 'env.sh'} && printf %s \"$MEDKB_PSEUDONYM_KEY\""],
        env={"PATH": "/usr/bin:/bin", "MEDKB_LOCAL_DIR": str(local), **env},
        capture_output=True, text=True, check=True, timeout=30,
    )
    return out.stdout


def test_a_key_is_generated_once_per_machine_and_kept(tmp_path):
    first = _key(tmp_path)
    assert len(first) == 64 and int(first, 16)  # 32 random bytes, hex
    keyfile = tmp_path / "pseudonym.key"
    assert keyfile.read_text() == first and oct(keyfile.stat().st_mode & 0o777) == "0o600"
    assert _key(tmp_path) == first  # stable: records pseudonymised yesterday still join up
    assert _key(tmp_path / "elsewhere") != first  # another machine, another key


def test_a_deployment_key_wins_and_there_is_no_public_default(tmp_path):
    assert _key(tmp_path, MEDKB_PSEUDONYM_KEY="deployment-secret") == "deployment-secret"
    assert not (tmp_path / "pseudonym.key").exists()
    assert "medkb-local-pseudonym-key" not in (ROOT / "ops" / "env.sh").read_text()


def test_the_key_file_is_git_ignored():
    ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", ".local/pseudonym.key"], timeout=30)
    assert ignored.returncode == 0
