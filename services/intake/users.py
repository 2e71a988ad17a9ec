"""People who sign in to the web pages: their accounts, sessions, password hashes and throttled sign-ins.

Passwords are hashed with argon2id. Checking one costs about 0.2 CPU-seconds and 64 MiB, and that
is what a guesser would make the server pay, so an attempt is admitted before any hashing
(`sign_in`): per user name and client address, per client address, and for the whole service. Every
count is kept in the database, not in memory, so every worker of every process holds the same
guesser back. Sessions are rows too: the cookie carries a secret whose digest names the row, and
signing out, deactivating a user or changing a password deletes rows for good.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import secrets
import threading
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.intake.metrics import PASSWORD_VERIFICATIONS
from services.intake.models import RateBucket, SignInFailure, User, UserSession
from services.intake.tokens import digest
from shared.auth import Principal, Role
from shared.catalog import Catalog
from shared.db import Database, purge
from shared.errors import Conflict, Invalid, NotFound

# People sign in to read or write reports; services and statisticians use API tokens.
USER_ROLES = (Role.ADMIN, Role.COORDINATOR, Role.BUREAU, Role.VIEWER)

_hasher = PasswordHasher()  # argon2id with the library's recommended cost
_dummy_hash: str | None = None


@dataclass(frozen=True)
class Rate:
    """A token bucket: `burst` uses at once, then one more each `interval`."""

    burst: int
    interval: dt.timedelta


@dataclass(frozen=True)
class SignInPolicy:
    """How sign-ins are held back (README, "Sign-in").

    A user name from one client address: after `free_failures` failures in a row, each further
    failure doubles the wait. One client address, whatever the names: `address_failures_per_hour`
    failures in a burst, then that many an hour. The whole service: `verifications_per_second`
    password checks, in bursts of five seconds' worth.
    """

    free_failures: int = 5
    first_wait: dt.timedelta = dt.timedelta(seconds=30)
    longest_wait: dt.timedelta = dt.timedelta(minutes=15)
    forget_after: dt.timedelta = dt.timedelta(days=1)
    address_failures_per_hour: int = 30
    verifications_per_second: float = 2.0

    def wait_after(self, failures: int) -> dt.timedelta | None:
        """The wait imposed after this many consecutive failures, or None while still free."""
        if failures < self.free_failures:
            return None
        return min(self.first_wait * 2 ** (failures - self.free_failures), self.longest_wait)

    @property
    def address_rate(self) -> Rate:
        per_hour = self.address_failures_per_hour
        return Rate(burst=per_hour, interval=dt.timedelta(hours=1) / per_hour)

    @property
    def verification_rate(self) -> Rate:
        per_second = self.verifications_per_second
        return Rate(burst=max(1, math.ceil(5 * per_second)), interval=dt.timedelta(seconds=1 / per_second))


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: the user and the new session's secret, or why not.

    `retry_after` (seconds) with `busy` False: this name from this address, or this address,
    must wait (429). With `busy` True: the service verifies no more passwords now (503).
    """

    user: User | None
    retry_after: int | None = None
    busy: bool = False
    session_secret: str | None = None


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
    """Rename, deactivate or reactivate a user, or set a new password.

    Deactivating and a new password end every session of the user for good: reactivating
    revives none.
    """
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise NotFound(f"No user {username!r}.")
    if name is not None:
        user.name = name
    if active is not None:
        user.active = active
    if password is not None:
        user.password_hash = hash_password(password)
    if active is False or password is not None:
        end_sessions_of(session, user)
    session.flush()
    return user


def list_users(session: Session) -> list[User]:
    """Every user, by user name."""
    return list(session.scalars(select(User).order_by(User.username)))


def principal_of(user: User) -> Principal:
    """The principal the report logic records as the actor of a signed-in user's changes."""
    return Principal(
        subject=f"user:{user.username}", name=user.name, role=Role(user.role), bureau=user.bureau
    )


# -- sessions ------------------------------------------------------------------------------
def start_session(session: Session, user: User, now: dt.datetime, lifetime: dt.timedelta) -> str:
    """A new session of the user, lasting `lifetime`; returns the secret the cookie carries."""
    purge(session, UserSession, UserSession.expires_at <= now)
    secret = secrets.token_urlsafe(32)
    session.add(
        UserSession(digest=digest(secret), user_id=user.id, created_at=now, expires_at=now + lifetime)
    )
    session.flush()
    return secret


def session_user(session: Session, secret: str, now: dt.datetime) -> User | None:
    """The active user of a session that has neither ended nor expired, else None."""
    found = session.scalar(select(UserSession).where(UserSession.digest == digest(secret)))
    if found is None or found.expires_at <= now:
        return None
    user = session.get(User, found.user_id)
    return user if user is not None and user.active else None


def end_sessions_of(session: Session, user: User) -> None:
    """End every session of the user, on every device, for good."""
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))


# -- signing in ------------------------------------------------------------------------------
def client_key(address: str | None) -> str:
    """Whom a sign-in is counted against: the client's IP address (an IPv6 client's /64, as one
    subscriber holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(getattr(ip, "ipv4_mapped", None) or ip)


def _verify(password_hash: str | None, password: str) -> bool:
    """Whether a password matches a hash (a malformed hash never matches); without a hash (an
    unknown or inactive user name), the same check against a hash nobody's password matches."""
    PASSWORD_VERIFICATIONS.labels("known" if password_hash else "unknown").inc()
    try:
        return _hasher.verify(password_hash or _dummy(), password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy() -> str:
    """A hash nobody's password matches: an unknown user name costs as much as a known one, so
    names cannot be probed."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("not the password of anyone")
    return _dummy_hash


def _locked(session: Session, model, **key):
    """The row of `model` with this key, locked for this transaction, or None."""
    return session.scalar(select(model).filter_by(**key).with_for_update())


def _create(session: Session, model, key: dict, defaults: dict):
    """Create the row of `model` with this key, or lock the one another worker created just now."""
    try:
        with session.begin_nested():
            row = model(**key, **defaults)
            session.add(row)
    except IntegrityError:
        row = _locked(session, model, **key)
    return row


def _seconds_until(moment: dt.datetime, now: dt.datetime) -> int:
    """Whole seconds to wait, at least one."""
    return max(1, math.ceil((moment - now).total_seconds()))


def _take(session: Session, key: str, rate: Rate, now: dt.datetime) -> int | None:
    """Use one from a bucket: None if it had one, else the seconds until it will."""
    bucket = _locked(session, RateBucket, key=key) or _create(
        session, RateBucket, {"key": key}, {"full_at": now}
    )
    after = max(bucket.full_at, now) + rate.interval
    if after - now > rate.interval * rate.burst:
        return _seconds_until(after - rate.interval * rate.burst, now)
    bucket.full_at = after
    return None


def _give_back(session: Session, key: str, rate: Rate, now: dt.datetime) -> None:
    bucket = _locked(session, RateBucket, key=key)
    if bucket is not None:
        bucket.full_at = max(bucket.full_at - rate.interval, now)


def _count_failure(
    session: Session,
    record: SignInFailure | None,
    username: str,
    client: str,
    now: dt.datetime,
    policy: SignInPolicy,
) -> SignInFailure:
    """Count one more failure of a name from a client and set the wait."""
    forgotten = now - policy.forget_after
    if record is None:
        key = {"username": username, "client": client}
        record = _create(session, SignInFailure, key, {"failures": 0, "last_failure_at": now})
    elif record.last_failure_at < forgotten:
        record.failures = 0
    record.failures += 1
    record.last_failure_at = now
    wait = policy.wait_after(record.failures)
    record.blocked_until = now + wait if wait else None
    return record


@dataclass(frozen=True)
class _Admission:
    refused: SignIn | None  # the answer at once, without verifying anything
    if_wrong: SignIn | None = None  # the answer to a wrong password (its failure already counted)


def _admit(
    session: Session, username: str, client: str, now: dt.datetime, policy: SignInPolicy
) -> _Admission:
    """Refuse an attempt that must wait, or count it as a failure before its password is checked:
    a success takes the failure back. Counting first means no burst of parallel guesses slips
    past a count that is only written after each slow check."""
    purge(session, SignInFailure, SignInFailure.last_failure_at < now - policy.forget_after)
    purge(session, RateBucket, RateBucket.full_at < now)  # a full bucket is the same as none
    record = _locked(session, SignInFailure, username=username, client=client)
    if record is not None and record.blocked_until is not None and record.blocked_until > now:
        return _Admission(SignIn(None, _seconds_until(record.blocked_until, now)))
    address = f"address:{client}"
    wait = _take(session, address, policy.address_rate, now)
    if wait is not None:
        return _Admission(SignIn(None, wait))
    wait = _take(session, "verifications", policy.verification_rate, now)
    if wait is not None:
        _give_back(session, address, policy.address_rate, now)
        return _Admission(SignIn(None, wait, busy=True))
    record = _count_failure(session, record, username, client, now, policy)
    retry_after = _seconds_until(record.blocked_until, now) if record.blocked_until else None
    return _Admission(None, SignIn(None, retry_after))


def _forgive(session: Session, username: str, client: str, now: dt.datetime, policy: SignInPolicy) -> None:
    """Take back the failure counted before a password that turned out right."""
    session.execute(
        delete(SignInFailure).where(SignInFailure.username == username, SignInFailure.client == client)
    )
    _give_back(session, f"address:{client}", policy.address_rate, now)


def sign_in(
    database: Database,
    username: str,
    password: str,
    client: str | None,
    now: dt.datetime,
    policy: SignInPolicy,
    slots: threading.Semaphore,
    lifetime: dt.timedelta,
) -> SignIn:
    """Check a user name and password from a client address, and start a session.

    Nothing is hashed unless the attempt is admitted: a free slot among this process's `slots`
    (else 503 at once), this name from this address and this address not waiting (429), and the
    service's rate of verifications not spent (503). The counts are committed in a short
    transaction of their own before the slow check, and the outcome in another after it.
    """
    username, client = normalise_username(username), client_key(client)
    if not slots.acquire(blocking=False):
        return SignIn(None, retry_after=1, busy=True)
    try:
        with database.transaction() as session:
            admission = _admit(session, username, client, now, policy)
            if admission.refused is not None:
                return admission.refused
            user = session.scalar(select(User).where(User.username == username))
            known = user is not None and user.active
            password_hash = user.password_hash if known else None
        # Outside any transaction: no lock is held while hashing.
        verified = _verify(password_hash, password) and known
    finally:
        slots.release()
    if not verified:
        return admission.if_wrong
    with database.transaction() as session:
        user = get_active_user(session, user.id)
        if user is None:  # deactivated during the check
            return admission.if_wrong
        _forgive(session, username, client, now, policy)
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.last_sign_in_at = now
        return SignIn(user, session_secret=start_session(session, user, now, lifetime))


def get_active_user(session: Session, user_id: int) -> User | None:
    """A user, unless deactivated."""
    user = session.get(User, user_id)
    return user if user is not None and user.active else None
