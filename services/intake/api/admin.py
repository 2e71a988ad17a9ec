"""Tokens, their introspection, and the bureau directory."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from services.intake import directory, idempotency, tokens
from services.intake.api import api_blueprint
from services.intake.context import current_catalog, now
from services.intake.models import ApiToken
from services.intake.schemas import (
    BureauContactsInputSchema,
    BureauSchema,
    IntrospectionInputSchema,
    IntrospectionSchema,
    MintedTokenSchema,
    TokenInputSchema,
    TokenSchema,
)
from shared.auth import Role, current_principal, require_roles
from shared.db import get_session
from shared.errors import Invalid, NotFound

blp = api_blueprint("admin", __name__, "API tokens, token introspection and the bureau directory.")

DIRECTORY_READERS = (Role.ADMIN, Role.COORDINATOR, Role.SERVICE)


@blp.route("/tokens")
class Tokens(MethodView):
    @require_roles(Role.ADMIN)
    @blp.response(200, TokenSchema(many=True))
    def get(self):
        """List tokens (never their secrets)"""
        return get_session().scalars(select(ApiToken).order_by(ApiToken.id)).all()

    @require_roles(Role.ADMIN)
    @blp.arguments(TokenInputSchema)
    @blp.response(201, MintedTokenSchema)
    def post(self, body):
        """Mint a token

        The secret is in this response only; store it now. Bureau tokens name their bureau. The
        secret is never kept: a retry with the same `Idempotency-Key` mints nothing and answers 409,
        naming the token to revoke if its secret was lost.
        """
        try:
            token, secret = tokens.mint_token(
                get_session(),
                current_catalog(),
                created_by=current_principal().name,
                now=now(),
                **body,
            )
        except (tokens.TokenError, KeyError) as error:
            raise Invalid(f"Cannot mint this token: {error}", {"bureau": [str(error)]}) from None
        token.secret = secret  # not a column: returned once, never stored
        idempotency.replay_as_problem(
            409,
            f"This Idempotency-Key already minted token {token.id} ({token.name}). Its secret was shown "
            f"only in the answer to that request and is not kept: if it was lost, revoke token {token.id} "
            f"(POST /api/v1/tokens/{token.id}/revoke) and mint a new one.",
        )
        return token


@blp.route("/tokens/<int:token_id>/revoke")
class RevokeToken(MethodView):
    @require_roles(Role.ADMIN)
    @blp.response(200, TokenSchema)
    def post(self, token_id):
        """Revoke a token; it stops working at once here and within the cache time elsewhere"""
        token = get_session().get(ApiToken, token_id)
        if token is None:
            raise NotFound(f"No token {token_id}.")
        if token.revoked_at is None:
            token.revoked_at = now()
        return token


@blp.route("/tokens/introspect")
class Introspect(MethodView):
    @require_roles(Role.SERVICE, Role.ADMIN)
    @blp.arguments(IntrospectionInputSchema)
    @blp.response(200, IntrospectionSchema)
    def post(self, body):
        """Introspect a token (RFC 7662 style), for the other services

        Answers `{"active": false}` for an unknown or revoked token.
        """
        principal = tokens.resolve(get_session(), body["token"])
        if principal is None:
            return {"active": False}
        return {
            "active": True,
            "sub": principal.subject,
            "name": principal.name,
            "role": principal.role,
            "bureau": principal.bureau,
        }


@blp.route("/bureaus")
class Bureaus(MethodView):
    @require_roles(*DIRECTORY_READERS)
    @blp.response(200, BureauSchema(many=True))
    def get(self):
        """The bureau directory: each bureau and the addresses that receive its reminders"""
        return directory.bureaus_with_contacts(get_session(), current_catalog())


@blp.route("/bureaus/<string:bureau>/contacts")
class BureauContacts(MethodView):
    @require_roles(Role.ADMIN)
    @blp.arguments(BureauContactsInputSchema)
    @blp.response(200, BureauSchema)
    def put(self, body, bureau):
        """Replace a bureau's contact addresses (admins)"""
        return directory.replace_contacts(get_session(), current_catalog(), bureau, body["contacts"])
