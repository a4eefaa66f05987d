"""Client-side helpers that need no server: the saved login and policy references."""

import json
import os
import stat

import pytest

from metta.tournament.client import (
    TournamentClient,
    TournamentError,
    delete_login,
    load_login,
    parse_policy_ref,
    save_login,
    token_file_path,
)


def test_the_login_file_is_private_atomic_and_found_through_the_env(tmp_path, monkeypatch):
    path = tmp_path / "home" / ".metta" / "cogames_token.json"
    monkeypatch.setenv("COGAMES_TOKEN_FILE", str(path))
    assert token_file_path() == path and load_login() is None
    old_umask = os.umask(0)  # even a permissive umask must not widen the file
    try:
        save_login("http://127.0.0.1:8765/", "alice", "mtt_secret")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"server": "http://127.0.0.1:8765", "user": "alice", "token": "mtt_secret"}
    save_login("http://other:1", "bob", "mtt_two")  # replaced whole, no temp files left behind
    assert load_login().user == "bob" and [p.name for p in path.parent.iterdir()] == [path.name]
    assert TournamentClient.from_login().base_url == "http://other:1"
    assert delete_login() and not delete_login() and load_login() is None
    with pytest.raises(TournamentError, match="cogames login"):
        TournamentClient.from_login()
    path.write_text("{broken")
    with pytest.raises(ValueError, match="cogames_token.json: not JSON"):
        load_login()


def test_policy_references():
    assert parse_policy_ref("my-policy") == ("my-policy", None)
    assert parse_policy_ref("my-policy:v3") == ("my-policy", 3)
    assert parse_policy_ref("my-policy:7") == ("my-policy", 7)
    for bad in ("a:b:c", "a\n:v1", "a:v1\nb", "a:v²", "a b:v1", "a:v1234567890"):
        with pytest.raises(ValueError, match="NAME:vN"):
            parse_policy_ref(bad)


def test_an_unreachable_server_is_one_line():
    with pytest.raises(TournamentError, match=r"cannot reach http://127.0.0.1:9") as error:
        TournamentClient("http://127.0.0.1:9", timeout=2).seasons()
    assert error.value.status is None and "\n" not in str(error.value)
