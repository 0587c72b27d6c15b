"""The one credential scrubber: URLs and free text lose tokens, keys and passwords before they
are stored, logged or published.

Why it lives in `schemas/`: "no record, reject or manifest carries a credential" is part of the
contract between stages, and the contract's own validators (`Provenance`, `InvalidItem`) call it.
It is a pure function over strings (standard library only, nothing of ours), so `sources/`,
`annotation/` and `curation/` can all use the same rules without breaking the import rules.

What is removed:
- userinfo in URLs (`https://user:pass@host/` → `https://host/`): dropped, so the URL stays valid;
- the values of secret-looking query and fragment parameters (`token`, `access_token`, `key`,
  `api_key`, `sig`, `password`, `session`, `X-Amz-Signature`, any name ending in `token`,
  `secret`, `password`, `signature`, `credential` …) → `REDACTED`, names and order kept;
- in free text also: `Bearer …` and `Basic <user:password in base64>` credentials, `Authorization:`/`Cookie:` header values,
  `api_key=…`/`"token": "…"` pairs, and the values of the process's secret environment
  variables (HF_TOKEN, CQIA_LLM_API_KEY, CQIA_LS_API_KEY, CQIA_<SOURCE>_COOKIE, …) wherever
  they appear, plus any secret the caller passes (a key it holds, a header it sends).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

REDACTED = "REDACTED"

# Query/fragment parameter names whose value is a credential (compared lowercased, '-' → '_').
SECRET_PARAMS = frozenset({
    "token", "access_token", "refresh_token", "id_token", "auth_token", "oauth_token", "private_token",
    "key", "api_key", "apikey", "access_key", "accesskey", "secret_key", "awsaccesskeyid",
    "sig", "sign", "signature", "password", "passwd", "pwd", "pass", "secret", "client_secret",
    "auth", "authorization", "session", "sessionid", "session_id", "sid", "jsessionid", "phpsessid",
    "credential", "credentials", "x_amz_signature", "x_amz_credential", "x_amz_security_token",
    "x_goog_signature", "x_goog_credential", "ticket", "code_verifier",
})
_SECRET_SUFFIXES = ("token", "secret", "password", "passwd", "signature", "credential", "apikey", "api_key")

# Environment variables whose values are secrets wherever they show up.
SECRET_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "CQIA_LLM_API_KEY", "CQIA_JUDGE_API_KEY",
              "CQIA_MUTATOR_API_KEY", "CQIA_LS_API_KEY", "LABEL_STUDIO_API_KEY", "OPENAI_API_KEY")
_SECRET_ENV_NAME = re.compile(r"^CQIA_\w+_(COOKIE|API_KEY|TOKEN|PASSWORD|SECRET)$")
MIN_SECRET_LEN = 6  # shorter values would blank ordinary words; nobody uses such a token

_SCHEME_BEFORE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,15}\Z")  # searched up to a "://"
_URL_REST = re.compile(r"""[^\s"'<>`\\]+""")
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=\-]{6,}")  # Token: see _HEADER
_BASIC = re.compile(r"\b(Basic\s+)([A-Za-z0-9+/]{8,}={0,2})")
_HEADER = re.compile(r"(?im)\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key)"
                     r"""(["']?\s*[:=]\s*["']?)[^\r\n"']+""")
_PAIR = re.compile(r"""(?i)(["']?)\b([A-Za-z][\w\-]*)\1(\s*[:=]\s*)(["']?)([^\s"'&,;}\]]+)""")


def is_secret_param(name: str) -> bool:
    """True for a query/fragment/JSON key whose value is a credential."""
    norm = unquote_plus(name).strip().lower().replace("-", "_")
    return norm in SECRET_PARAMS or norm.endswith(_SECRET_SUFFIXES)


def _redact_params(part: str) -> str:
    """`a=1&token=x` → `a=1&token=REDACTED`, byte-for-byte otherwise (no re-encoding)."""
    pieces = part.split("&")
    for i, piece in enumerate(pieces):
        name, eq, value = piece.partition("=")
        if eq and value and is_secret_param(name):
            pieces[i] = f"{name}={REDACTED}"
    return "&".join(pieces)


def redact_url(url: str) -> str:
    """`url` without userinfo and with secret parameter values replaced; other text unchanged."""
    if not url or ("@" not in url and "=" not in url):
        return url  # the common case: nothing that could hold a credential
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2] if "@" in parts.netloc else parts.netloc
        query = _redact_params(parts.query) if "=" in parts.query else parts.query
        fragment = _redact_params(parts.fragment) if "=" in parts.fragment else parts.fragment
    except ValueError:  # e.g. a broken IPv6 host: the same rules without a parser
        return _redact_unparsable(url)
    if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def _redact_unparsable(url: str) -> str:
    url = re.sub(r"^([A-Za-z][A-Za-z0-9+.\-]*:)?//[^/?#]*@", lambda m: f"{m.group(1) or ''}//", url)
    head, sep, tail = url.partition("?") if "?" in url else url.partition("#")
    return head + sep + "#".join(_redact_params(p) for p in tail.split("#")) if sep else head


def env_secrets(environ: dict[str, str] | None = None) -> list[str]:
    """Secret values held in the environment now (and each cookie value of a cookie variable).

    Hot loops (a stage's rejects, a release's rows) call this once and pass the list on."""
    env = os.environ if environ is None else environ
    out: list[str] = []
    for name in list(env):  # names first: reading (decoding) every value costs more than matching
        if not (name in SECRET_ENV or (name.startswith("CQIA_") and _SECRET_ENV_NAME.match(name))):
            continue
        value = env.get(name) or ""
        if not value:
            continue
        out.append(value)
        if name.endswith("COOKIE"):
            out += [pair.partition("=")[2].strip() for line in value.splitlines() for pair in line.split(";")]
    return out


def _basic(match: re.Match[str]) -> str:
    """`Basic <base64 of user:password>` → redacted; `Basic information` is left alone."""
    try:
        decoded = base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        return match.group(0)
    return f"{match.group(1)}{REDACTED}" if b":" in decoded else match.group(0)


def _redact_urls_in(text: str) -> str:
    """Every `scheme://…` in `text` through redact_url (found from each "://", not by a regex scan)."""
    out: list[str] = []
    last, at = 0, text.find("://")
    while at != -1:
        scheme = _SCHEME_BEFORE.search(text, max(last, at - 16), at)
        if scheme is None:
            at = text.find("://", at + 3)
            continue
        rest = _URL_REST.match(text, at)
        end = rest.end() if rest else at + 3
        out += [text[last:scheme.start()], redact_url(text[scheme.start():end])]
        last, at = end, text.find("://", end)
    out.append(text[last:])
    return "".join(out)


_HEADER_NAMES = ("authorization", "cookie", "api-key")
# Substrings every secret parameter name contains: text with none of them has no secret pair.
_PAIR_HINTS = ("key", "token", "sig", "pass", "pwd", "secret", "auth", "session", "sid", "credential", "ticket",
               "code_verifier")


def _redact_free_text(text: str) -> str:
    """The pattern rules; each regex runs only when a cheap substring test says it could match."""
    lowered = text.lower()
    if "://" in text:
        text = _redact_urls_in(text)
    if "bearer" in lowered:
        text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    if "Basic" in text:
        text = _BASIC.sub(_basic, text)
    if any(name in lowered for name in _HEADER_NAMES):
        text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    if ("=" in text or ":" in text) and any(hint in lowered for hint in _PAIR_HINTS):
        text = _PAIR.sub(lambda m: (m.group(0) if not is_secret_param(m.group(2)) or m.group(5) == REDACTED else
                                    f"{m.group(1)}{m.group(2)}{m.group(1)}{m.group(3)}{m.group(4)}{REDACTED}"),
                         text)
    return text


def redact_text(text: str, secrets: Iterable[str | None] = (), *, use_env: bool = True) -> str:
    """Free text (an error message, a log line, a card) with every credential replaced."""
    if not text:
        return text
    known = [s for s in (*secrets, *(env_secrets() if use_env else ())) if s and len(s) >= MIN_SECRET_LEN]
    for secret in sorted(set(known), key=len, reverse=True):  # longest first: a value may contain another
        text = text.replace(secret, REDACTED)
    return _redact_free_text(text)


def redact_obj(obj: Any, secrets: Iterable[str | None] = (), *, use_env: bool = True) -> Any:
    """A JSON-like value with every string redacted and every secret-named key's value blanked."""
    secrets = [s for s in (*secrets, *(env_secrets() if use_env else ())) if s and len(s) >= MIN_SECRET_LEN]

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return redact_text(value, secrets, use_env=False)
        if isinstance(value, dict):
            return {k: (REDACTED if isinstance(k, str) and is_secret_param(k) and isinstance(v, str) and v
                        else walk(v)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v) for v in value]
        return value

    return walk(obj)
