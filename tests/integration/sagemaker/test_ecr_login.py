"""ECR credentials for pushing the serving image: boto3's ecr.get_authorization_token on moto's server,
then `docker login --password-stdin`. The docker CLI here is a recording stand-in (a real login would
contact the ECR host, which does not exist); it is the narrowest seam that shows where the password goes."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Iterator

import pytest

from modeldeploy.progress import Progress
from modeldeploy.targets.docker.build import ecr_credentials, ecr_login

REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml"


@pytest.fixture()
def moto_ecr(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for key, value in {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_ecr_token_from_the_server(moto_ecr):
    creds = ecr_credentials(REGISTRY)
    assert creds is not None
    user, password = creds
    assert user == "AWS" and password


def test_not_ecr_needs_no_token():
    assert ecr_credentials("ghcr.io/org") is None
    assert ecr_login("127.0.0.1:5000/ml", Progress()) is False


def test_login_passes_the_password_on_stdin_only(moto_ecr, tmp_path, capsys):
    record = tmp_path / "record.json"
    fake = tmp_path / "docker"
    fake.write_text(
        "#!/usr/bin/env python3\nimport json, sys\n"
        f"json.dump({{'argv': sys.argv[1:], 'stdin': sys.stdin.read()}}, open({str(record)!r}, 'w'))\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    progress = Progress()
    assert ecr_login(REGISTRY, progress, docker=str(fake)) is True
    got = json.loads(record.read_text())
    _, password = ecr_credentials(REGISTRY) or ("", "")
    assert got["argv"] == [
        "login",
        "--username",
        "AWS",
        "--password-stdin",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    ]
    assert got["stdin"] == password
    printed = capsys.readouterr()
    assert password not in printed.out + printed.err + "\n".join(progress.events)
    assert base64.b64encode(password.encode()).decode() not in printed.err
