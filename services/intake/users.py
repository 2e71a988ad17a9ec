"""People who sign in to the web pages: their accounts, password hashes and slowed-down failures.

Passwords are hashed with argon2id. Failed sign-ins are counted per user name in the
database, not in memory, so every worker of every process slows the same guesser down.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.intake.models import SignInFailure, User
from shared.auth import Principal, Role
from shared.catalog import Catalog
from shared.errors import Conflict, Invalid, NotFound

# People sign in to read or write reports; services and statisticians use API tokens.
USER_ROLES = (Role.ADMIN, Role.COORDINATOR, Role.BUREAU, Role.VIEWER)

_hasher = PasswordHasher()  # argon2id with the library's recommended cost
_dummy_hash: str | None = None


@dataclass(frozen=True)
class SignInPolicy:
    """How failed sign-ins are slowed down: after `free_failures`, each failure doubles the wait."""

    free_failures: int = 5
    first_wait: dt.timedelta = dt.timedelta(seconds=30)
    longest_wait: dt.timedelta = dt.timedelta(minutes=15)
    forget_after: dt.timedelta = dt.timedelta(days=1)

    def wait_after(self, failures: int) -> dt.timedelta | None:
        """The wait imposed after this many consecutive failures, or None while still free."""
        if failures < self.free_failures:
            return None
        return min(self.first_wait * 2 ** (failures - self.free_failures), self.longest_wait)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: the user, or how many seconds to wait (if any)."""

    user: User | None
    retry_after: int | None = None


def normalise_username(username: str) -> str:
    """User names are compared trimmed and in lower case."""
    return username.strip().lower()


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return _hasher.hash(password)


def create_user(
    session: Session,
    catalog: Catalog,
    *,
    username: str,
    password: str,
    role: str,
    bureau: str | None,
    name: str | None,
    created_by: str,
    now: dt.datetime,
) -> User:
    """Create a user; bureau users name their bureau, other roles have none."""
    username = normalise_username(username)
    role = Role(role)
    if role not in USER_ROLES:
        raise Invalid(
            f"Users cannot have the role {role}.", {"role": [f"Must be one of {', '.join(USER_ROLES)}."]}
        )
    if role == Role.BUREAU:
        if not bureau:
            raise Invalid("A bureau user needs a bureau.", {"bureau": ["Required for the bureau role."]})
        try:
            catalog.bureau(bureau)
        except KeyError:
            raise Invalid(f"No bureau {bureau!r}.", {"bureau": [f"Unknown bureau {bureau!r}."]}) from None
    elif bureau:
        raise Invalid(
            f"A {role} user is not bound to a bureau.", {"bureau": ["Only bureau users have a bureau."]}
        )
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"The user name {username!r} is taken.", {"username": ["Already taken."]})
    user = User(
        username=username,
        name=name or username,
        role=role,
        bureau=bureau,
        password_hash=hash_password(password),
        active=True,
        created_at=now,
        created_by=created_by,
    )
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"The user name {username!r} is taken.", {"username": ["Already taken."]}) from None
    return user


def update_user(
    session: Session,
    username: str,
    *,
    name: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> User:
    """Rename, deactivate or reactivate a user, or set a new password (which ends their sessions)."""
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise NotFound(f"No user {username!r}.")
    if name is not None:
        user.name = name
    if active is not None:
        user.active = active
    if password is not None:
        user.password_hash = hash_password(password)
    session.flush()
    return user


def list_users(session: Session) -> list[User]:
    """Every user, by user name."""
    return list(session.scalars(select(User).order_by(User.username)))


def get_active_user(session: Session, user_id: int) -> User | None:
    """The user of a session, unless deactivated since."""
    user = session.get(User, user_id)
    return user if user is not None and user.active else None


def principal_of(user: User) -> Principal:
    """The principal the report logic records as the actor of a signed-in user's changes."""
    return Principal(
        subject=f"user:{user.username}", name=user.name, role=Role(user.role), bureau=user.bureau
    )


def session_stamp(user: User) -> str:
    """A value kept in the signed session cookie: a new password ends every older session."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _verify(password_hash: str, password: str) -> bool:
    """Whether a password matches a hash (a malformed hash never matches)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _spend_a_verification(password: str) -> None:
    """Take as long for an unknown user name as for a known one, so names cannot be probed."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("not the password of anyone")
    _verify(_dummy_hash, password)


def _failure_record(session: Session, username: str) -> SignInFailure | None:
    """A user name's failure count, locked for this transaction."""
    return session.scalar(select(SignInFailure).where(SignInFailure.username == username).with_for_update())


def _record_failure(
    session: Session, username: str, record: SignInFailure | None, now: dt.datetime, policy: SignInPolicy
) -> SignInFailure:
    """Count one more failure and set the wait; forget old counts on the way."""
    forgotten = now - policy.forget_after
    session.execute(
        delete(SignInFailure).where(
            SignInFailure.last_failure_at < forgotten, SignInFailure.username != username
        )
    )
    if record is None or record.last_failure_at < forgotten:
        if record is None:
            try:
                with session.begin_nested():
                    record = SignInFailure(username=username, failures=0, last_failure_at=now)
                    session.add(record)
            except IntegrityError:  # another worker recorded a failure for this name just now
                record = _failure_record(session, username)
        else:
            record.failures = 0
    record.failures += 1
    record.last_failure_at = now
    wait = policy.wait_after(record.failures)
    record.blocked_until = now + wait if wait else None
    session.flush()
    return record


def _seconds_until(moment: dt.datetime, now: dt.datetime) -> int:
    """Whole seconds to wait, at least one."""
    return max(1, math.ceil((moment - now).total_seconds()))


def sign_in(session: Session, username: str, password: str, now: dt.datetime, policy: SignInPolicy) -> SignIn:
    """Check a user name and password, counting failures; call in a transaction of its own.

    The failure count must be committed even though the attempt fails, so the caller
    commits this transaction whatever the outcome.
    """
    username = normalise_username(username)
    record = _failure_record(session, username)
    if record is not None and record.blocked_until is not None and record.blocked_until > now:
        return SignIn(None, _seconds_until(record.blocked_until, now))
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        _spend_a_verification(password)
        verified = False
    else:
        verified = _verify(user.password_hash, password)
    if not verified:
        record = _record_failure(session, username, record, now, policy)
        retry_after = _seconds_until(record.blocked_until, now) if record.blocked_until else None
        return SignIn(None, retry_after)
    if record is not None:
        session.delete(record)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_sign_in_at = now
    session.flush()
    return SignIn(user)
