"""Issue #19, item 1: a plain ``serving.env`` entry that holds a credential — by its NAME (the same
rule the plan's redaction uses) or by its VALUE's shape — is refused by validate, render, plan and
apply (exit 1, located at the value, nothing written); ordinary settings are not.

Values are assembled at run time so that secret scanners do not flag this file itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modeldeploy.errors import SpecError
from modeldeploy.planning import redact
from modeldeploy.spec import credentials
from modeldeploy.spec.credentials import classify, is_sensitive_key
from modeldeploy.spec.loader import load_spec

REPO = Path(__file__).resolve().parents[2]
HEX64 = "9f86d081884c7d659a2feaa0c55ad015" + "a3bf4f1b2b0b822cd15d6c15b0f00a08"
RUN_ID = HEX64[:32]

# name → value: each must be refused.
SECRETS = {
    "DB_PASSWORD": "hunter2-" + "Sup3rS3cret",
    "OPENAI_API_KEY": "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY",
    "API_KEY": HEX64,
    "HF_TOKEN": "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz012345",
    "GITHUB_TOKEN": "plain-text-token-value",
    "SLACK_BOT_TOKEN": "xoxb-" + "123456789012-abcdefABCDEF",
    "DB_PASSPHRASE": "correct horse battery staple",
    "AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountName=a;" + "AccountKey=abc==",
    "GOOGLE_CREDENTIALS": '{"type": "service_account"}',
    "clientSecret": "abc",
    "PRIVATE_KEY": "-----BEGIN " + "PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----",
    "MY_SETTING": "postgres://app:" + "pw@db/app",  # by value: a password in a URL
    "UPSTREAM_AUTH": "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxIn0" + ".dozjgNryP4J3jVmNHl0w5N_X",  # a JWT
    "SEED": "QmFzZTY0RW5jb2RlZFNlY3JldFZhbHVl" + "MTIzNDU2Nzg5MA==",  # a long random base64 run
    "GOOGLE_KEY": "AIza" + "SyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI",
    "CI_JOB": "glpat-" + "xxxxxxxxxxxxxxxxxxxx",
}

# name → value: ordinary settings, none may be refused.
ORDINARY = {
    "LOG_LEVEL": "info",
    "MAX_TOKENS": "512",
    "MAX_NEW_TOKEN": "256",
    "TOKEN_LIMIT": "4096",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_NUM_THREADS": "4",
    "CUDA_VISIBLE_DEVICES": "0,1",
    "FEATURE_NEW_RANKER": "on",
    "USE_SECRETS_MANAGER": "true",
    "PASSWORD_MIN_LENGTH": "12",
    "SECRET_NAME": "db-credentials",
    "DB_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db",
    "TOKEN_FILE": "/var/run/secrets/token",
    "TOKEN_URL": "https://login.internal/oauth2/token",
    "GOOGLE_APPLICATION_CREDENTIALS": "/var/secrets/google/key.json",
    "MODEL_NAME": "meta-llama/Meta-Llama-3-8B-Instruct",
    "HF_MODEL": "distilbert-base-uncased-finetuned-sst-2-english",
    "MODEL_PATH": "/opt/ml/model/Llama3Instruct8B/checkpoints/step1000",
    "DATABASE_URL": "postgresql://db.internal:5432/app",
    "MLFLOW_TRACKING_URI": "https://mlflow.internal",
    "MLFLOW_RUN_ID": RUN_ID,
    "GIT_COMMIT": HEX64[:40],
    "MODEL_URI": f"runs:/{RUN_ID}/model",
    "ARTIFACTS": f"s3://bucket/mlflow/1/{RUN_ID}/artifacts",
    "MODEL_DIGEST": "sha256:" + HEX64,
    "REQUEST_NAMESPACE": "123e4567-e89b-12d3-a456-426614174000",  # a UUID is an identifier
    "GREETING": "hello, world",
    "EMPTY_TOKEN": "",
}


@pytest.mark.parametrize("name,value", SECRETS.items(), ids=list(SECRETS))
def test_credential_by_name_or_value_is_refused(name: str, value: str) -> None:
    assert classify(name, value) is not None


@pytest.mark.parametrize("name,value", ORDINARY.items(), ids=list(ORDINARY))
def test_ordinary_settings_are_not(name: str, value: str) -> None:
    assert classify(name, value) is None


def test_one_name_rule_for_validate_and_plan_redaction() -> None:
    assert redact.is_sensitive_key is credentials.is_sensitive_key
    for name in ("DB_PASSWORD", "HF_TOKEN", "OPENAI_API_KEY", "AZURE_STORAGE_CONNECTION_STRING", "DB_PASSPHRASE"):
        assert is_sensitive_key(name), name
        assert redact.redact_env_like({name: "x"}) == {name: redact.SENSITIVE}
    for name in ("MAX_TOKENS", "TOKENIZERS_PARALLELISM", "TOKEN_LIMIT", "SECRET_NAME", "TOKEN_FILE", "LOG_LEVEL"):
        assert not is_sensitive_key(name), name


SPEC = """\
apiVersion: modeldeploy/v1
name: m
model: {{source: ./model}}
serving:
  env:
    LOG_LEVEL: info
    {name}: {value}
{extra}target: {{kind: docker}}
"""


def test_a_secret_name_is_located_at_the_value_with_a_hint(tmp_path: Path) -> None:
    p = tmp_path / "deploy.yaml"
    p.write_text(SPEC.format(name="DB_PASSWORD", value=json.dumps(SECRETS["DB_PASSWORD"]), extra=""))
    with pytest.raises(SpecError) as info:
        load_spec(p)
    (diag,) = info.value.diagnostics
    assert (diag.line, diag.col, diag.code) == (7, 18, "MD120")
    assert diag.message.startswith("serving.env.DB_PASSWORD holds a secret (its name says so) (secret-name)")
    lines = info.value.lines()
    assert lines[-1].startswith("hint: move it to serving.secrets") and "allow_plain" in lines[-1]
    assert not any("Sup3rS3cret" in line for line in lines)


def test_allow_plain_with_a_reason_lets_one_entry_through(tmp_path: Path) -> None:
    p = tmp_path / "deploy.yaml"
    extra = '  allow_plain: {DB_PASSWORD: "throwaway password of the local test database"}\n'
    p.write_text(SPEC.format(name="DB_PASSWORD", value=json.dumps("local-only"), extra=extra))
    assert load_spec(p).spec.serving.env["DB_PASSWORD"] == "local-only"


# --- every command refuses the same spec and writes nothing ----------------------------------------


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "examples" / "iris", tmp_path / "iris", ignore=shutil.ignore_patterns("make_model.py"))
    spec = tmp_path / "iris" / "deploy.yaml"
    spec.write_text(
        spec.read_text().replace("env: {LOG_LEVEL: info}", "env: {LOG_LEVEL: info, DB_PASSWORD: hunter2-Sup3rS3cret}")
    )
    (tmp_path / "out").mkdir()
    return tmp_path


def md(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MODELDEPLOY_DEBUG"}
    env["PYTHONPATH"] = str(REPO)
    env["PATH"] = f"{cwd / 'nobin'}:{env['PATH']}"  # no docker needed: refused before any build
    return subprocess.run(
        [sys.executable, "-m", "modeldeploy", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "iris/deploy.yaml"],
        ["validate", "iris/deploy.yaml", "--offline"],
        ["render", "iris/deploy.yaml", "-o", "out"],
        ["plan", "iris/deploy.yaml", "--against", "out", "--out", "p.json"],
        ["apply", "iris/deploy.yaml", "--against", "out", "--auto-approve"],
    ],
    ids=["validate", "validate-offline", "render", "plan", "apply"],
)
def test_every_command_refuses_and_writes_nothing(project: Path, args: list[str]) -> None:
    r = md(*args, cwd=project)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "iris/deploy.yaml:12:" in r.stderr and "[MD120]" in r.stderr and "DB_PASSWORD" in r.stderr
    assert "Sup3rS3cret" not in r.stdout + r.stderr
    assert not any((project / "out").iterdir()) and not (project / "p.json").exists()
