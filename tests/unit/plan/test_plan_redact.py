"""Redaction: declared paths, secret-looking env keys, diff text, URL passwords."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modeldeploy.planning.redact import (
    SENSITIVE,
    format_path,
    is_sensitive_key,
    mask_url_credentials,
    parse_path,
    redact,
    redact_env_like,
    redact_text,
    scrub,
)


def test_redact_replaces_value_at_dotted_path_without_touching_input():
    body = {"a": {"b": "secret-1", "c": "keep"}}
    out = redact(body, ["a.b"])
    assert out == {"a": {"b": SENSITIVE, "c": "keep"}}
    assert body["a"]["b"] == "secret-1"


def test_redact_wildcards_cover_list_items_and_map_keys():
    body = {"env": [{"n": 1, "v": "x1"}, {"n": 2, "v": "x2"}], "maps": {"one": {"v": "y1"}, "two": {"v": "y2"}}}
    out = redact(body, ["env.*.v", "maps.*.v"])
    assert [e["v"] for e in out["env"]] == [SENSITIVE, SENSITIVE]
    assert {k: v["v"] for k, v in out["maps"].items()} == {"one": SENSITIVE, "two": SENSITIVE}
    assert [e["n"] for e in out["env"]] == [1, 2]


def test_redact_index_escaped_dot_whole_subtree_missing_and_none():
    body = {
        "items": ["a", "b"],
        "metadata": {"annotations": {"example.com/token": "t", "other": "o"}},
        "auth": {"user": "u", "password": "p"},
        "empty": None,
    }
    out = redact(body, ["items.1", "metadata.annotations.example\\.com/token", "auth", "nope.deeper", "empty"])
    assert out["items"] == ["a", SENSITIVE]
    assert out["metadata"]["annotations"] == {"example.com/token": SENSITIVE, "other": "o"}
    assert out["auth"] == SENSITIVE
    assert out["empty"] is None  # nothing to hide; "(sensitive)" would claim a value exists
    assert "nope" not in out


def test_redact_turns_tuples_and_mappings_into_plain_data():
    from types import MappingProxyType

    out = redact(MappingProxyType({"t": ("a", {"k": "v"})}), [])
    assert out == {"t": ["a", {"k": "v"}]}
    assert type(out) is dict and type(out["t"]) is list


def test_parse_and_format_path_round_trip():
    assert parse_path("a.b\\.c.*.0") == ("a", "b.c", "*", "0")
    assert format_path(("a", "b.c", 0)) == "a.b\\.c.0"
    assert parse_path(format_path(("x.y", "z"))) == ("x.y", "z")


@pytest.mark.parametrize(
    "key",
    [
        "DB_PASSWORD",
        "password",
        "apiKey",
        "API_KEY",
        "x-api-key",
        "HF_TOKEN",
        "GITHUB_TOKEN",
        "authToken",
        "client_secret",
        "clientSecret",
        "AWS_SECRET_ACCESS_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS_JSON",
        "private_key",
        "PrivateKey",
        "credential",
        "SECRETS",
    ],
)
def test_secret_looking_keys(key):
    assert is_sensitive_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "MODEL_NAME",
        "secretName",
        "secretKeyRef",
        "TOKEN_FILE",
        "DB_SECRET_ARN",
        "MAX_TOKENS",
        "TOKENIZERS_PARALLELISM",
        "tokenizer",
        "name",
        "value",
        "key",
        "keyboard",
        "MLFLOW_TRACKING_URI",
        "",
    ],
)
def test_reference_and_lookalike_keys_are_not_secrets(key):
    assert not is_sensitive_key(key)


def test_redact_env_like_env_lists_and_plain_string_maps():
    body = {
        "containers": [
            {
                "env": [
                    {"name": "DB_PASSWORD", "value": "pw"},
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "api", "key": "key"}}},
                ]
            }
        ],
        "Environment": {"HF_TOKEN": "hf", "MODEL": "iris", "TOKENIZERS_PARALLELISM": "false"},
        "ref": {"secret": "db-creds", "key": "password"},
    }
    out = redact_env_like(body)
    env = out["containers"][0]["env"]
    assert env[0] == {"name": "DB_PASSWORD", "value": SENSITIVE}
    assert env[1] == {"name": "LOG_LEVEL", "value": "info"}
    assert env[2] == body["containers"][0]["env"][2]  # references are shown
    assert out["Environment"] == {"HF_TOKEN": SENSITIVE, "MODEL": "iris", "TOKENIZERS_PARALLELISM": "false"}
    assert out["ref"] == {"secret": "db-creds", "key": "password"}


def test_mask_url_credentials():
    assert (
        mask_url_credentials("https://alice:pa55@host/x and s3://b/k")
        == f"https://alice:{SENSITIVE}@host/x and s3://b/k"
    )
    assert mask_url_credentials("https://host/x") == "https://host/x"


def test_scrub_combines_everything():
    out = scrub({"p": "declared", "Environment": {"API_KEY": "k"}, "uri": "http://u:p@h"}, ["p"])
    assert out == {"p": SENSITIVE, "Environment": {"API_KEY": SENSITIVE}, "uri": f"http://u:{SENSITIVE}@h"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("+  password: hunter2", "+  password: (sensitive)"),
        ('-    "apiKey": "abc",', '-    "apiKey": "(sensitive)",'),
        ("+ENV HF_TOKEN=abc MODEL=iris", "+ENV HF_TOKEN=(sensitive) MODEL=iris"),
        ("+RUN curl -H x --data token=abc", "+RUN curl -H x --data token=(sensitive)"),
        ("   url: https://bob:pw@example.com", f"   url: https://bob:{SENSITIVE}@example.com"),
        ("+  x: {token: abc, b: 2}", "+  x: {token: (sensitive), b: 2}"),
        ("+  secretName: iris-db", "+  secretName: iris-db"),
        ("+  MAX_TOKENS: '512'", "+  MAX_TOKENS: '512'"),
        ("--- live/sagemaker_model.x", "--- live/sagemaker_model.x"),
        ("+  API_KEY: (sensitive, changed)", "+  API_KEY: (sensitive, changed)"),
    ],
)
def test_redact_text_lines(line, expected):
    assert redact_text(line) == expected


def test_redact_text_env_entries_and_block_scalars():
    text = "\n".join(
        [
            "   - name: DB_PASSWORD",
            "-    value: old",
            "+    value: new",
            "   - name: LOG_LEVEL",
            "     value: info",
            "+  private_key: |",
            "+    -----BEGIN KEY-----",
            "+    abcdef",
            "+  after: visible",
        ]
    )
    out = redact_text(text).split("\n")
    assert out[1] == "-    value: (sensitive)" and out[2] == "+    value: (sensitive)"
    assert out[4] == "     value: info"
    assert out[6] == "+    (sensitive)" and out[7] == "+    (sensitive)"
    assert out[8] == "+  after: visible"


def test_redact_text_json_env_entries():
    text = '      "name": "HF_TOKEN",\n      "value": "hf_abc"\n      "name": "MODEL",\n      "value": "iris"'
    out = redact_text(text)
    assert "hf_abc" not in out and '"value": "iris"' in out


secret_keys = st.sampled_from(["DB_PASSWORD", "API_KEY", "HF_TOKEN", "client_secret", "privateKey", "CREDENTIALS"])
secret_values = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=20).map(
    lambda s: "zq" + s
)


@given(key=secret_keys, value=secret_values, style=st.sampled_from(["env", "map"]))
def test_no_secret_survives_scrub_or_its_yaml_diff(key, value, style):
    from modeldeploy.rendering.canonical import dump_yaml

    body = (
        {"spec": {"env": [{"name": key, "value": value}]}}
        if style == "env"
        else {"Environment": {key: value, "X": "1"}}
    )
    scrubbed = scrub(body)
    assert value not in repr(scrubbed)
    raw_yaml = "\n".join("+" + line for line in dump_yaml(body).decode().splitlines())
    assert value not in redact_text(raw_yaml)


def test_a_key_name_never_hides_a_boolean_number_or_null():
    """automountServiceAccountToken is security-relevant: a reviewer must see it change."""
    body = {
        "spec": {"automountServiceAccountToken": False, "tokenExpirationSeconds": 3600, "apiKey": None},
        "env": [{"name": "HF_TOKEN", "value": "x"}],
        "map": {"SHOW_TOKEN": True, "DB_PASSWORD": "p"},
    }
    out = scrub(body)
    assert out["spec"] == body["spec"]
    assert out["env"][0]["value"] == SENSITIVE and out["map"] == {"SHOW_TOKEN": True, "DB_PASSWORD": SENSITIVE}
    text = '-automountServiceAccountToken: false\n+automountServiceAccountToken: true\n  "apiToken": 12,\n+ENV DB_PASSWORD=123'
    assert redact_text(text).split("\n") == [
        "-automountServiceAccountToken: false",
        "+automountServiceAccountToken: true",
        '  "apiToken": 12,',
        f"+ENV DB_PASSWORD={SENSITIVE}",
    ]


@pytest.mark.parametrize(
    "value",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "a1" * 18,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlX2hlcmU",
        "-----BEGIN PRIVATE KEY-----",
    ],
)
def test_a_credential_shape_is_hidden_under_any_key(value):
    assert scrub({"metadata": {"annotations": {"note": value}}, "description": value}) == {
        "metadata": {"annotations": {"note": SENSITIVE}},
        "description": SENSITIVE,
    }
    shown = redact_text(f"+  description: {value}\n-  note: 'see {value}'")
    assert value not in shown and shown.count(SENSITIVE) == 2, shown
