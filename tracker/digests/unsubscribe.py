"""Signed unsubscribe tokens: the credential of an email's unsubscribe link.

A token is ``<subscription id>.<signature>``, signed with :mod:`itsdangerous` (a small,
maintained signing library; HMAC-SHA256 with a purpose-specific salt, so a token made
for this purpose is worth nothing elsewhere). The key is per subscription: a random key
made with it and kept only in the database, never shown (not the feed token's hash, which
anyone holding the feed URL could compute). Every process that can read the subscription
(the dispatcher writing the email, any API process answering the link) can therefore sign
and check tokens without an operator secret to share, and tokens outlive restarts.
"""

from __future__ import annotations

import hashlib

from itsdangerous import BadSignature, Signer

SALT = "tracker.digests.unsubscribe"


def _signer(key_material: str) -> Signer:
    return Signer(key_material, salt=SALT, key_derivation="hmac", digest_method=hashlib.sha256)


def make_token(subscription_id: int, key_material: str) -> str:
    """The token for one subscription; ``key_material`` is its stored unsubscribe key."""
    return _signer(key_material).sign(str(subscription_id)).decode()


def subscription_of(token: str) -> int | None:
    """The subscription a token claims to be for, before its signature is checked (to find the
    key); ``None`` when the token is not shaped like one."""
    head, dot, _ = token.partition(".")
    # isascii: str.isdigit() also accepts superscripts and other scripts' digits
    return int(head) if dot and head.isascii() and head.isdigit() and len(head) < 19 else None


def verify(token: str, key_material: str) -> bool:
    """Whether ``token`` was signed with this subscription's key."""
    try:
        _signer(key_material).unsign(token)
    except BadSignature:
        return False
    return True
