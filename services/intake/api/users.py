"""Users of the web pages, created by admins."""

from __future__ import annotations

from flask.views import MethodView

from services.intake import users
from services.intake.api import api_blueprint
from services.intake.context import current_catalog, now
from services.intake.schemas import UserInputSchema, UserSchema, UserUpdateSchema
from shared.auth import Role, current_principal, require_roles
from shared.db import get_session

blp = api_blueprint("users", __name__, "People who sign in to the bureau and coordinator web pages.")


@blp.route("/users")
class Users(MethodView):
    """The users of the web pages."""

    @require_roles(Role.ADMIN)
    @blp.response(200, UserSchema(many=True))
    def get(self):
        """List users (never their password hashes)"""
        return users.list_users(get_session())

    @require_roles(Role.ADMIN)
    @blp.arguments(UserInputSchema)
    @blp.response(201, UserSchema)
    def post(self, body):
        """Create a user of the web pages

        Bureau users report for their `bureau`; coordinators review every bureau's
        reports; viewers read them. The password is stored only as an argon2 hash.
        """
        return users.create_user(
            get_session(),
            current_catalog(),
            created_by=current_principal().name,
            now=now(),
            **body,
        )


@blp.route("/users/<string:username>")
class UserByName(MethodView):
    """One user, by user name."""

    @require_roles(Role.ADMIN)
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, changes, username):
        """Change a user: rename, deactivate (`active: false`) or set a new password

        Deactivating a user or setting a new password ends their current sessions.
        """
        return users.update_user(get_session(), username, **changes)
