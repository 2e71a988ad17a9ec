"""Bearer tokens: minted once, stored as digests, revocable."""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake.models import ApiToken
from shared.auth import Principal, Role
from shared.catalog import Catalog

TOKEN_PREFIX = "dgbv_"


class TokenError(ValueError):
    """A token request that cannot be honoured."""


def digest(token: str) -> str:
    # Tokens are 256-bit random strings, so a plain SHA-256 digest cannot be brute-forced.
    return hashlib.sha256(token.encode()).hexdigest()


def mint_token(
    session: Session,
    catalog: Catalog,
    *,
    name: str,
    role: str,
    bureau: str | None,
    created_by: str,
    now,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is shown only this once."""
    role = Role(role)
    if role == Role.BUREAU:
        if not bureau:
            raise TokenError("a bureau token needs a bureau")
        catalog.bureau(bureau)
    elif bureau:
        raise TokenError(f"a {role} token is not bound to a bureau")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        role=role,
        bureau=bureau,
        token_hash=digest(secret),
        created_at=now,
        created_by=created_by,
    )
    session.add(token)
    session.flush()
    return token, secret


def hand_over(session: Session, *, origin: str, secret: str | None, name: str, role: str, now) -> list[str]:
    """Make the token in the environment variable `origin` the only one it hands over.

    A new value is registered; the tokens the variable held before are retired (revoked), and all
    of them when it is no longer set. A value that was revoked stays revoked. Returns what to tell
    the operator.
    """
    wanted = digest(secret) if secret else None
    notes = []
    held_before = session.scalars(
        select(ApiToken).where(ApiToken.origin == origin, ApiToken.revoked_at.is_(None))
    )
    for token in held_before:
        if token.token_hash != wanted:
            token.revoked_at = now
            notes.append(f"{origin} changed: token {token.id} it held before is retired")
    if wanted is None:
        return notes
    known = session.scalar(select(ApiToken).where(ApiToken.token_hash == wanted))
    if known is None:
        session.add(
            ApiToken(
                name=name,
                role=role,
                bureau=None,
                token_hash=wanted,
                created_at=now,
                created_by="environment",
                origin=origin,
            )
        )
    elif known.revoked_at is not None:
        notes.append(f"{origin} holds token {known.id}, which was revoked: it opens nothing; set a new value")
    return notes


def principal_of(token: ApiToken) -> Principal:
    return Principal(subject=f"token:{token.id}", name=token.name, role=Role(token.role), bureau=token.bureau)


def resolve(session: Session, secret: str) -> Principal | None:
    """The principal of an active token, or None."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None or token.revoked_at is not None:
        return None
    return principal_of(token)


def resolve_in_app(secret: str) -> Principal | None:
    """Token resolver for the intake app, using a short session of its own."""
    with current_app.extensions["database"].session(write=False) as session:
        return resolve(session, secret)
