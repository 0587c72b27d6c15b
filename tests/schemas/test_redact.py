"""The credential scrubber over many URL shapes and free-text forms (expected outputs written by hand)."""

from __future__ import annotations

import pytest

from schemas import InvalidItem, Provenance
from schemas.redact import env_secrets, is_secret_param, redact_obj, redact_text, redact_url

URLS = [
    # query tokens: the value goes, name, order and the other parameters stay byte for byte
    ("https://www.zhihu.com/api/v4/answers/1?token=abc123&include=data%5B*%5D",
     "https://www.zhihu.com/api/v4/answers/1?token=REDACTED&include=data%5B*%5D"),
    ("https://h.example/a?access_token=ya29.a0AfH6&page=2", "https://h.example/a?access_token=REDACTED&page=2"),
    ("https://h.example/a?page=2&api_key=sk-XYZ", "https://h.example/a?page=2&api_key=REDACTED"),
    ("https://h.example/a?apikey=1&key=2&Key=3", "https://h.example/a?apikey=REDACTED&key=REDACTED&Key=REDACTED"),
    ("https://h.example/a?sig=s1&signature=s2&password=p&secret=x&auth=a",
     "https://h.example/a?sig=REDACTED&signature=REDACTED&password=REDACTED&secret=REDACTED&auth=REDACTED"),
    ("https://h.example/a?session=1&sessionid=2&JSESSIONID=3", "https://h.example/a?session=REDACTED&sessionid=REDACTED&JSESSIONID=REDACTED"),
    # S3 / GCS presigned URLs
    ("https://b.s3.amazonaws.com/k.json?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20240101"
     "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=abcdef0123",
     "https://b.s3.amazonaws.com/k.json?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED"
     "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=REDACTED"),
    ("https://b.s3.amazonaws.com/k?AWSAccessKeyId=AKIA1&Expires=1&Signature=zz%3D",
     "https://b.s3.amazonaws.com/k?AWSAccessKeyId=REDACTED&Expires=1&Signature=REDACTED"),
    ("https://storage.googleapis.com/b/o?X-Goog-Signature=ab12&X-Goog-Credential=sa%40p",
     "https://storage.googleapis.com/b/o?X-Goog-Signature=REDACTED&X-Goog-Credential=REDACTED"),
    # names ending in token/secret/password (e.g. hf_token, client_secret, x-csrf-token)
    ("https://h.example/?hf_token=hf_abc&client_secret=s&x-csrf-token=t&db_password=p",
     "https://h.example/?hf_token=REDACTED&client_secret=REDACTED&x-csrf-token=REDACTED&db_password=REDACTED"),
    # userinfo: dropped, the URL stays valid
    ("https://user:pa55word@example.com/path?q=1", "https://example.com/path?q=1"),
    ("http://only-user@127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
    ("https://u:p%40ss@h.example:8443/a?token=t#frag", "https://h.example:8443/a?token=REDACTED#frag"),
    # fragment tokens (OAuth implicit flow)
    ("https://app.example/cb#access_token=abc&token_type=bearer&state=xyz",
     "https://app.example/cb#access_token=REDACTED&token_type=bearer&state=xyz"),
    # unparsable host: the same rules without the parser
    ("http://u:p@[::1/x?token=a#sig=2", "http://[::1/x?token=REDACTED#sig=REDACTED"),
]

UNCHANGED = [
    "https://www.zhihu.com/question/586816837/answer/2916374892",
    "https://movie.douban.com/subject/3541415/?from=showing&page=2",
    "https://h.example/search?q=token&keyword=password",  # the words as values are fine
    "https://h.example/a?token=",  # empty value: nothing to hide
    "https://h.example/a?tokens_used=5&monkey=1&keyboard=2",  # near-miss names
    "/data/samples/zhihu/a=b.json:12",
    "samples/douban/page.html#item-3",
    "someone@example.com",
    "",
]


@pytest.mark.parametrize(("url", "expected"), URLS)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize("url", UNCHANGED)
def test_urls_without_credentials_are_unchanged(url: str) -> None:
    assert redact_url(url) == url


def test_secret_param_names() -> None:
    for name in ("token", "ACCESS_TOKEN", "api-key", "X-Amz-Signature", "hf_token", "sessionid", "sig"):
        assert is_secret_param(name), name
    for name in ("q", "page", "tokens_used", "keyword", "signed", "offset", "limit"):
        assert not is_secret_param(name), name


def test_free_text_forms() -> None:
    text = ("GET https://a:b@h.example/x?api_key=sk-live-123456 failed; headers Authorization: Token abcdef0123\n"
            "retry with Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig and api_key=sk-live-123456 "
            '{"password": "hunter22", "user": "bob"}\nCookie: z_c0=2|1:0|10:1700; d_c0=AB\nok')
    assert redact_text(text) == (
        "GET https://h.example/x?api_key=REDACTED failed; headers Authorization: REDACTED\n"
        "retry with Bearer REDACTED and api_key=REDACTED "
        '{"password": "REDACTED", "user": "bob"}\nCookie: REDACTED\nok')


def test_basic_credentials_in_base64() -> None:
    import base64

    blob = base64.b64encode(b"admin:s3cret-pass").decode()
    assert redact_text(f'{{"echo": "Basic {blob}"}}') == '{"echo": "Basic REDACTED"}'
    assert redact_text("Basic aW5mb3JtYXRpb24=") == "Basic aW5mb3JtYXRpb24="  # base64 without a colon


def test_plain_text_is_left_alone() -> None:
    text = "Basic information about tokens: a key idea. 如何停止耳鸣？ token budget 5, password policy."
    assert redact_text(text) == text


def test_known_secrets_anywhere_longest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_planted_secret_123")
    monkeypatch.setenv("CQIA_ZHIHU_COOKIE", "z_c0=cookie-secret-value; q_c1=second-cookie-value")
    monkeypatch.setenv("CQIA_LS_API_KEY", "ls-key-0000")
    assert redact_text("path/hf_planted_secret_123/x") == "path/REDACTED/x"
    assert redact_text("sent cookie-secret-value and second-cookie-value") == "sent REDACTED and REDACTED"
    assert redact_text("key ls-key-0000 and abc", ["abc"]) == "key REDACTED and abc"  # too short to hunt
    assert redact_text("held: my-held-key-9", ["my-held-key-9", "my-held"]) == "held: REDACTED"
    assert "hf_planted_secret_123" in env_secrets()
    assert redact_text("hf_planted_secret_123", use_env=False) == "hf_planted_secret_123"


def test_redact_obj_walks_json_and_blanks_secret_keys() -> None:
    obj = {"inputs": [{"url": "https://u:p@h.example/a?token=t1"}], "params": {"api_key": "k-123456", "n": 3,
                                                                              "nested": ["Bearer abcdefgh"]}}
    assert redact_obj(obj) == {"inputs": [{"url": "https://h.example/a?token=REDACTED"}],
                               "params": {"api_key": "REDACTED", "n": 3, "nested": ["Bearer REDACTED"]}}


def test_contract_models_scrub_themselves() -> None:
    prov = Provenance(url="https://u:p@h.example/a?access_token=t", location="https://h.example/a?sig=s")
    assert prov.url == "https://h.example/a?access_token=REDACTED" and prov.location == "https://h.example/a?sig=REDACTED"
    bad = InvalidItem(location="https://h.example/a?token=t", reason="fetch_failed",
                      detail="GET https://x:y@h.example/ → 500", raw={"next": "https://h.example/b?key=k"})
    assert bad.location == "https://h.example/a?token=REDACTED"
    assert bad.detail == "GET https://h.example/ → 500" and bad.raw == {"next": "https://h.example/b?key=REDACTED"}
