"""MD120: plain serving.env values that look like credentials are refused at their position, with a
pointer to serving.secrets, unless serving.allow_plain names the variable with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modeldeploy.errors import SpecError
from modeldeploy.spec.credentials import DETECTORS, detect
from modeldeploy.spec.loader import load_all_environments, load_spec

# Assembled at run time so that secret scanners do not flag this test file itself.
AWS = "AKIA" + "IOSFODNN7" + "EXAMPLE"
PEM = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GITHUB_PAT = "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"
SLACK = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
JWT = "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0" + ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PASSWORD = "host=db user=app password=hunter2"
URL = "postgresql://app:" + "hunter2@db.internal:5432/app"
OPENAI = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
HEX64 = "9f86d081884c7d659a2feaa0c55ad015" + "a3bf4f1b2b0b822cd15d6c15b0f00a08"
B64 = "QmFzZTY0RW5jb2RlZFNlY3JldFZhbHVl" + "MTIzNDU2Nzg5MA=="

POSITIVE = {
    "aws-access-key-id": [AWS, f"key {AWS} in text", "ASIA" + "Y34FZKBOKMUTVV7A"],
    "private-key": [PEM, "-----BEGIN " + "OPENSSH PRIVATE KEY-----", "-----BEGIN " + "PRIVATE KEY-----"],
    "github-token": [GITHUB, GITHUB_PAT],
    "slack-token": [SLACK, "xoxp-" + "1234567890-abcdef"],
    "jwt": [JWT, "Bearer " + JWT],
    "url-password": [URL, "https://user:" + "pa55@example.com/x"],
    "password-assignment": [
        PASSWORD,
        "PASSWORD: s3cr3t",
        "api_key=abc",
        "Secret = x1",
        "DefaultEndpointsProtocol=https;AccountName=a;" + "AccountKey=abc",
    ],
    "openai-key": [OPENAI, "sk-" + "a" * 48, "sk-ant-api03-" + "x" * 40],
    "stripe-key": ["sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"],
    "google-api-key": ["AIza" + "SyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"],
    "gitlab-token": ["glpat-" + "xxxxxxxxxxxxxxxxxxxx"],
    "huggingface-token": ["hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz012345"],
    "aws-secret-access-key": [AWS_SECRET],
    "hex-secret": [HEX64, "0123456789abcdef" * 2],
    "base64-secret": [B64],
}
NEGATIVE = [
    "info",
    "",
    "AKIA",
    "AKIAshort",
    "akia" + "iosfodnn7example",
    "ghp_short",
    "xoxb-",
    "eyJhbGciOiJIUzI1NiJ9",
    "https://example.com/path?x=1",
    "https://user@example.com/",
    "password",
    "password=",
    "no_password here",
    "use the secrets section for the password",
    "-----BEGIN PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----",
    "redis://cache:6379/0",
    "MAX_TOKENS=10",
    "passwords are references",
    "x" * 100_000,
    "0" * 32,
    "deadbeef" * 4,
    "123e4567-e89b-12d3-a456-426614174000",
    "sha256:" + HEX64,
    "runs:/" + HEX64[:32] + "/model",
    "s3://bucket/mlflow/1/" + HEX64[:32] + "/artifacts",
    "meta-llama/Meta-Llama-3-8B-Instruct",
    "models/Llama3Instruct8B/checkpoints/step1",
    "distilbert-base-uncased-finetuned-sst-2-english",
    "skip-connections-enabled",
    "task-sk-v2",
]


def test_every_detector_has_an_id_a_description_and_a_positive_case() -> None:
    ids = [d.id for d in DETECTORS]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(POSITIVE), "each detector needs positive cases here"
    for d in DETECTORS:
        assert d.description and d.description[0].islower()


@pytest.mark.parametrize("detector_id,value", [(k, v) for k, vs in POSITIVE.items() for v in vs])
def test_detectors_find_credentials(detector_id: str, value: str) -> None:
    found = detect(value)
    assert found is not None and found.id == detector_id


@pytest.mark.parametrize("value", NEGATIVE, ids=lambda v: repr(v[:30]))
def test_detectors_leave_ordinary_values_alone(value: str) -> None:
    assert detect(value) is None


SPEC = """\
apiVersion: modeldeploy/v1
name: m
model: {{source: ./model}}
serving:
  env:
    LOG_LEVEL: info
    AWS_KEY: {value}
{extra}target: {{kind: docker}}
"""


def write(tmp_path: Path, value: str, extra: str = "") -> Path:
    p = tmp_path / "deploy.yaml"
    p.write_text(SPEC.format(value=json.dumps(value), extra=extra))
    return p


@pytest.mark.parametrize("detector_id,value", [(k, vs[0]) for k, vs in POSITIVE.items()])
def test_credential_in_env_is_a_located_md120_that_never_echoes_the_value(
    tmp_path: Path, detector_id: str, value: str
) -> None:
    p = write(tmp_path, value)
    with pytest.raises(SpecError) as info:
        load_spec(p)
    (diag,) = info.value.diagnostics
    assert (diag.line, diag.col, diag.code) == (7, 14, "MD120")
    assert diag.message.startswith("serving.env.AWS_KEY looks like ")
    assert f"({detector_id})" in diag.message
    assert "serving.secrets: {AWS_KEY: {secret: NAME, key: KEY}}" in diag.message
    assert 'serving.allow_plain.AWS_KEY: "<reason>"' in diag.message
    for line in info.value.lines():
        assert value.splitlines()[0] not in line


def test_allow_plain_with_a_reason_overrides_one_key(tmp_path: Path) -> None:
    p = write(tmp_path, AWS, '  allow_plain: {AWS_KEY: "AWS documentation example key, not a credential"}\n')
    spec = load_spec(p).spec
    assert spec.serving.env["AWS_KEY"] == AWS
    assert spec.serving.allow_plain == {"AWS_KEY": "AWS documentation example key, not a credential"}


def test_allow_plain_needs_a_reason_and_only_covers_its_own_key(tmp_path: Path) -> None:
    p = write(tmp_path, AWS, '  allow_plain: {AWS_KEY: ""}\n')
    with pytest.raises(SpecError) as info:
        load_spec(p)
    assert [d.code for d in info.value.diagnostics] == ["MD112"]
    assert "allow_plain" in info.value.diagnostics[0].message
    p = write(tmp_path, AWS, "  allow_plain: {OTHER: because}\n")
    with pytest.raises(SpecError) as info:
        load_spec(p)
    assert [d.code for d in info.value.diagnostics] == ["MD120"]


def test_credential_set_in_an_environment_overlay_is_located_in_the_overlay(tmp_path: Path) -> None:
    p = tmp_path / "deploy.yaml"
    p.write_text(
        "apiVersion: modeldeploy/v1\nname: m\nmodel: {source: ./model}\ntarget: {kind: docker}\n"
        "environments:\n  prod:\n    serving:\n      env:\n        TOKEN: " + json.dumps(GITHUB) + "\n"
    )
    assert load_spec(p).spec.serving.env == {}
    with pytest.raises(SpecError) as info:
        load_spec(p, "prod")
    (diag,) = info.value.diagnostics
    assert (diag.line, diag.col, diag.code) == (9, 16, "MD120")
    with pytest.raises(SpecError) as info:
        load_all_environments(p)
    assert [(d.line, d.code) for d in info.value.diagnostics] == [(9, "MD120")]
    assert "(environment prod)" in info.value.diagnostics[0].message


def test_secret_references_are_fine(tmp_path: Path) -> None:
    p = tmp_path / "deploy.yaml"
    p.write_text(
        "apiVersion: modeldeploy/v1\nname: m\nmodel: {source: ./model}\ntarget: {kind: docker}\n"
        "serving: {secrets: {AWS_KEY: {secret: aws, key: access-key-id}}, env: {DB_HOST: db.internal}}\n"
    )
    assert load_spec(p).spec.serving.secrets["AWS_KEY"].key == "access-key-id"


def test_a_huge_value_is_scanned_without_catastrophic_backtracking() -> None:
    """Each shape below makes a backtracking pattern run for hours on a 1 MiB value. The scan must
    finish at all: a generous alarm (not a speed assertion; speed is measured in bench/) turns a hang
    into a failure instead of a stuck CI run."""
    import signal

    values = [
        "a" * (1 << 20),
        "password" * 100_000,
        "eyJ" * 300_000,
        "-----BEGIN " * 90_000,
        "x://" + ":" * (1 << 20),
        ".eyJ" + "a" * (1 << 20),
        "xoxb-" * 200_000,
        "a://b:" * 170_000,
        "-----BEGIN " + "A " * 500_000,
        "aB3" * 350_000,
        "0a" * 500_000,
        "sk-" * 300_000,
    ]

    def hung(signum, frame):  # noqa: ARG001
        raise AssertionError("the credential scan did not finish in 120 s: a pattern backtracks")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(120)
    try:
        for v in values:
            detect(v)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
