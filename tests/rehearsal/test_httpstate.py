"""The GitLab-compatible Terraform HTTP state server: auth, state versions, lock/unlock with the
holder's info on conflict, terraform's own LOCK/UNLOCK methods, and a request log without secrets."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Iterator

import pytest

from gfwizard.rehearsal.httpstate import HttpStateServer

PASSWORD = "rehearsal-password-0123456789"


@pytest.fixture
def server(tmp_path) -> Iterator[HttpStateServer]:
    with HttpStateServer("rehearsal", PASSWORD, log_path=tmp_path / "http.log") as srv:
        yield srv


def call(url: str, method: str = "GET", body: bytes | None = None, user: str = "rehearsal",
         password: str | None = PASSWORD) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method)
    if password is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def state(serial: int, lineage: str = "lin-1") -> bytes:
    return json.dumps({"version": 4, "serial": serial, "lineage": lineage, "resources": []}).encode()


def lock_info(lock_id: str, who: str = "alice@laptop") -> bytes:
    return json.dumps({"ID": lock_id, "Operation": "OperationTypeApply", "Who": who, "Version": "1.11.4",
                       "Created": "2025-01-02T03:04:05.123456789Z", "Info": "", "Path": ""}).encode()


def test_addresses_follow_gitlab_shape(server: HttpStateServer) -> None:
    address = server.address_for("attic", "dev")
    assert address == f"{server.url}/api/v4/projects/1/terraform/state/attic-dev"
    assert server.lock_address_for("attic", "dev") == address + "/lock"
    assert server.unlock_address_for("attic", "dev") == address + "/lock"
    assert server.address_template.format(stack="attic", env="dev") == address


@pytest.mark.parametrize("password", [None, "wrong-password"])
def test_requests_without_the_right_basic_auth_get_401(server: HttpStateServer, password: str | None) -> None:
    status, _ = call(server.address_for("attic", "dev"), "POST", state(1), password=password)
    assert status == 401
    assert server.versions("attic", "dev") == []


def test_state_versions_are_kept(server: HttpStateServer) -> None:
    address = server.address_for("attic", "dev")
    assert call(address)[0] == 204
    assert call(address, "POST", state(1))[0] == 200
    assert call(address, "POST", state(2))[0] == 200
    status, body = call(address)
    assert status == 200 and json.loads(body)["serial"] == 2
    assert [(v.serial, v.lineage) for v in server.versions("attic", "dev")] == [(1, "lin-1"), (2, "lin-1")]
    assert call(address, "POST", b"not json")[0] == 400
    assert len(server.versions("attic", "dev")) == 2


def test_lock_conflict_returns_the_holders_info(server: HttpStateServer) -> None:
    lock = server.lock_address_for("attic", "dev")
    assert call(lock, "POST", lock_info("id-1"))[0] == 200
    status, body = call(lock, "POST", lock_info("id-2", who="bob@ci"))
    assert status == 409
    assert json.loads(body)["ID"] == "id-1" and json.loads(body)["Who"] == "alice@laptop"
    # Writes need the holder's lock ID.
    address = server.address_for("attic", "dev")
    status, body = call(address, "POST", state(1))
    assert status == 423 and json.loads(body)["ID"] == "id-1"
    assert call(address + "?ID=id-1", "POST", state(1))[0] == 200
    # Unlock with another ID is refused with the holder's info; the right ID releases it.
    status, body = call(server.unlock_address_for("attic", "dev"), "DELETE", lock_info("id-2"))
    assert status == 409 and json.loads(body)["ID"] == "id-1"
    assert server.lock_info("attic", "dev")["ID"] == "id-1"
    assert call(server.unlock_address_for("attic", "dev"), "DELETE", lock_info("id-1"))[0] == 200
    assert server.lock_info("attic", "dev") is None


def test_terraform_default_lock_methods_work_too(server: HttpStateServer) -> None:
    address = server.address_for("attic", "prod")
    assert call(address, "LOCK", lock_info("id-9"))[0] == 200
    assert call(address, "LOCK", lock_info("id-10"))[0] == 409
    assert call(address, "UNLOCK", lock_info("id-9"))[0] == 200
    assert server.lock_info("attic", "prod") is None


def test_unknown_paths_are_404(server: HttpStateServer) -> None:
    assert call(f"{server.url}/api/v4/projects/2/terraform/state/attic-dev")[0] == 404
    assert call(f"{server.url}/elsewhere")[0] == 404


def test_request_log_never_holds_the_password(server: HttpStateServer, tmp_path) -> None:
    call(server.address_for("attic", "dev"), "POST", state(1))
    call(server.address_for("attic", "dev"), password="bad-password-value")
    entries = server.request_log.entries()
    assert [(e["method"], e["user"], e["status"]) for e in entries] == [("POST", "rehearsal", 200), ("GET", None, 401)]
    text = (tmp_path / "http.log").read_text()
    assert len(text.splitlines()) == 2
    assert PASSWORD not in text and "bad-password-value" not in text


def test_stop_frees_the_port(tmp_path) -> None:
    srv = HttpStateServer("rehearsal", PASSWORD).start()
    url = srv.address_for("attic", "dev")
    srv.stop()
    srv.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)
