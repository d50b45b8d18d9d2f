#!/usr/bin/env python3
"""Verify an authd access token with an independent JWT library (PyJWT).

Run by ci/jwt-smoke.sh against a live `authd serve`. It acts like a resource server
that knows nothing but the issuer URL:

1. GET <base>/.well-known/openid-configuration and take only its `jwks_uri`;
2. log in at <base>/auth/token with a JSON body;
3. verify the access token with PyJWKClient(jwks_uri) and jwt.decode(algorithms=[--alg],
   audience=api, issuer=<issuer>), and check the RFC 9068 header and the claims.

With --wait N it logs in again for up to N seconds until a token signed with --alg
comes back (after `authd keys rotate --alg RS256 --now`, a running server switches
within keys.refresh_interval).

With --refresh it then also uses the login's refresh token at <base>/auth/refresh:
the new access token must verify the same way, in the same session (sid) with a new
jti; the new refresh token must differ from the old one; presenting the old (consumed)
refresh token again must be refused with 400 invalid_grant (reuse), and that reuse must
end the whole family, so the new refresh token is then refused too.

Only the standard library besides PyJWT (with its `cryptography` extra). The password
comes from the JWT_SMOKE_PASSWORD environment variable, not argv. Prints
`jwt-smoke: ok kid=...` (with --refresh, `jwt-smoke: ok alg=... kid=... refresh=ok
reuse=refused`) or one `jwt-smoke: FAIL ...` line on stderr and exits 1.
"""

import argparse
import json
import os
import sys
import urllib.error
import time
import urllib.request

import jwt

ACCESS_TTL_SECONDS = 600  # tokens.access_ttl default (10m)
AUDIENCE = "api"  # audience of the default first-party client
REQUIRED_CLAIMS = ["iss", "aud", "sub", "jti", "exp", "iat", "nbf", "client_id", "sid"]


class SmokeFailure(Exception):
    pass


def http_json(url, body=None):
    """GET (or POST a JSON body to) url and return the decoded JSON of a 200 response."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    req.add_header("Accept", "application/json")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        # Error bodies are RFC 6749 JSON and never echo secrets, so they are safe to show.
        raise SmokeFailure(f"{req.method} {url}: HTTP {e.code}: {e.read()[:300]!r}") from None
    except urllib.error.URLError as e:
        raise SmokeFailure(f"{req.method} {url}: {e.reason}") from None
    if status != 200:
        raise SmokeFailure(f"{req.method} {url}: HTTP {status}")
    try:
        return json.loads(raw)
    except ValueError:
        raise SmokeFailure(f"{req.method} {url}: response is not JSON: {raw[:200]!r}") from None


def http_json_error(url, body):
    """POST a JSON body to url, expecting an error response; return (status, decoded JSON)."""
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("Accept", "application/json")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, None
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, {"_raw": raw[:200]}
    except urllib.error.URLError as e:
        raise SmokeFailure(f"POST {url}: {e.reason}") from None


def tamper(token):
    """Return token with one character in the middle of its signature changed."""
    head, payload, sig = token.split(".")
    i = len(sig) // 2  # not the last character, whose low bits may be padding
    sig = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1 :]
    return f"{head}.{payload}.{sig}"


def login_until(base_url, username, password, alg, wait_seconds):
    """Log in until the access token's header alg is `alg` (or `wait_seconds` pass)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        tokens = http_json(f"{base_url}/auth/token", {"username": username, "password": password})
        token = tokens.get("access_token")
        if not isinstance(token, str) or token.count(".") != 2:
            raise SmokeFailure(f"/auth/token returned no compact JWT access_token (keys: {sorted(tokens)})")
        header = jwt.get_unverified_header(token)
        if header.get("alg") == alg or time.monotonic() >= deadline:
            return token, header, tokens
        time.sleep(0.5)


def verify_access_token(token, jwks_uri, issuer, alg):
    """Verify one access token against the JWKS at jwks_uri; return (kid, claims)."""
    header = jwt.get_unverified_header(token)
    if header.get("typ") != "at+jwt":
        raise SmokeFailure(f"header typ is {header.get('typ')!r}, expected 'at+jwt' (RFC 9068)")
    if header.get("alg") != alg:
        raise SmokeFailure(f"header alg is {header.get('alg')!r}, expected {alg!r}")
    kid = header.get("kid")
    if not kid:
        raise SmokeFailure("header has no kid")

    # The key is found by the token's kid in the published JWKS, nowhere else.
    try:
        signing_key = jwt.PyJWKClient(jwks_uri, timeout=10).get_signing_key_from_jwt(token)
    except jwt.PyJWKClientError as e:
        raise SmokeFailure(f"no usable key for kid {kid!r} at {jwks_uri}: {e}") from None
    if signing_key.key_id != kid:
        raise SmokeFailure(f"JWKS key id {signing_key.key_id!r} does not match header kid {kid!r}")

    decode = {
        "algorithms": [alg],
        "audience": AUDIENCE,
        "issuer": issuer,
        "options": {"require": REQUIRED_CLAIMS},
        "leeway": 5,  # same host, but iat/nbf are whole seconds
    }
    try:
        claims = jwt.decode(token, signing_key.key, **decode)
    except jwt.InvalidTokenError as e:
        raise SmokeFailure(f"access token does not verify: {type(e).__name__}: {e}") from None

    for name in ("sub", "jti", "client_id", "sid"):
        if not isinstance(claims[name], str) or not claims[name]:
            raise SmokeFailure(f"claim {name} is not a non-empty string: {claims[name]!r}")
    for name in ("exp", "iat", "nbf"):
        if not isinstance(claims[name], int):
            raise SmokeFailure(f"claim {name} is not an integer NumericDate: {claims[name]!r}")
    if claims["exp"] - claims["iat"] != ACCESS_TTL_SECONDS:
        raise SmokeFailure(f"exp - iat = {claims['exp'] - claims['iat']}, expected {ACCESS_TTL_SECONDS}")

    # Guard against a verification step that accepts anything.
    try:
        jwt.decode(tamper(token), signing_key.key, **decode)
    except jwt.InvalidSignatureError:
        pass
    else:
        raise SmokeFailure("a token with a modified signature was accepted")

    return kid, claims


def check_refresh(base_url, jwks_uri, issuer, alg, tokens, claims):
    """Refresh once, verify the new pair, then check that replaying the old token is refused."""
    old_refresh = tokens.get("refresh_token")
    if not isinstance(old_refresh, str) or not old_refresh:
        raise SmokeFailure(f"/auth/token returned no refresh_token (keys: {sorted(tokens)})")
    refreshed = http_json(f"{base_url}/auth/refresh", {"refresh_token": old_refresh})
    new_access = refreshed.get("access_token")
    new_refresh = refreshed.get("refresh_token")
    if not isinstance(new_access, str) or new_access.count(".") != 2:
        raise SmokeFailure(f"/auth/refresh returned no compact JWT access_token (keys: {sorted(refreshed)})")
    if not isinstance(new_refresh, str) or not new_refresh:
        raise SmokeFailure(f"/auth/refresh returned no refresh_token (keys: {sorted(refreshed)})")
    if new_refresh == old_refresh:
        raise SmokeFailure("/auth/refresh returned the same refresh token (it must be single use)")
    try:
        _, new_claims = verify_access_token(new_access, jwks_uri, issuer, alg)
    except SmokeFailure as e:
        raise SmokeFailure(f"refreshed access token: {e}") from None
    if new_claims["sid"] != claims["sid"]:
        raise SmokeFailure(f"refreshed access token has sid {new_claims['sid']!r}, expected the login's {claims['sid']!r}")
    if new_claims["sub"] != claims["sub"]:
        raise SmokeFailure(f"refreshed access token has sub {new_claims['sub']!r}, expected {claims['sub']!r}")
    if new_claims["jti"] == claims["jti"]:
        raise SmokeFailure("refreshed access token repeats the login token's jti")

    # The old refresh token was consumed: presenting it again is reuse.
    status, body = http_json_error(f"{base_url}/auth/refresh", {"refresh_token": old_refresh})
    if status != 400 or not isinstance(body, dict) or body.get("error") != "invalid_grant":
        raise SmokeFailure(f"replaying a consumed refresh token: HTTP {status} {body!r}, expected 400 invalid_grant")
    # Reuse revokes the whole family, including the refresh token issued just before.
    status, body = http_json_error(f"{base_url}/auth/refresh", {"refresh_token": new_refresh})
    if status != 400 or not isinstance(body, dict) or body.get("error") != "invalid_grant":
        raise SmokeFailure(
            f"refresh token of a family revoked by reuse: HTTP {status} {body!r}, expected 400 invalid_grant"
        )


def run(base_url, issuer, username, password, alg, wait_seconds, refresh=False):
    discovery = http_json(f"{base_url}/.well-known/openid-configuration")
    if discovery.get("issuer") != issuer:
        raise SmokeFailure(f"discovery issuer is {discovery.get('issuer')!r}, expected {issuer!r}")
    jwks_uri = discovery.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri.startswith(issuer):
        raise SmokeFailure(f"discovery jwks_uri {jwks_uri!r} is not an absolute URL under the issuer")

    token, _header, tokens = login_until(base_url, username, password, alg, wait_seconds)
    kid, claims = verify_access_token(token, jwks_uri, issuer, alg)
    if refresh:
        check_refresh(base_url, jwks_uri, issuer, alg, tokens, claims)
    return kid


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="where authd listens, e.g. http://127.0.0.1:8080")
    parser.add_argument("--issuer", required=True, help="the configured server.issuer")
    parser.add_argument("--username", required=True)
    parser.add_argument("--alg", default="ES256", choices=["ES256", "RS256"])
    parser.add_argument("--wait", type=float, default=0, help="seconds to wait for a token of --alg")
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="also refresh once, verify the new pair and check that replaying the old refresh token is refused",
    )
    args = parser.parse_args()
    password = os.environ.get("JWT_SMOKE_PASSWORD")
    if not password:
        print("jwt-smoke: FAIL JWT_SMOKE_PASSWORD is not set", file=sys.stderr)
        return 1
    try:
        kid = run(args.base_url.rstrip("/"), args.issuer, args.username, password, args.alg, args.wait, args.refresh)
    except SmokeFailure as e:
        print(f"jwt-smoke: FAIL {e}", file=sys.stderr)
        return 1
    extra = " refresh=ok reuse=refused" if args.refresh else ""
    print(f"jwt-smoke: ok alg={args.alg} kid={kid}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
