"""The bureau directory: who receives each bureau's reminders."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.intake.models import BureauContact
from shared.catalog import Catalog
from shared.errors import Invalid, NotFound


def bureaus_with_contacts(session: Session, catalog: Catalog) -> list[dict]:
    contacts: dict[str, list] = {}
    for contact in session.scalars(select(BureauContact).order_by(BureauContact.id)):
        contacts.setdefault(contact.bureau, []).append({"email": contact.email, "name": contact.name})
    return [
        {"id": b.id, "name": b.name, "name_en": b.name_en, "contacts": contacts.get(b.id, [])}
        for b in catalog.bureaus
    ]


def replace_contacts(session: Session, catalog: Catalog, bureau: str, contacts: list[dict]) -> dict:
    try:
        catalog.bureau(bureau)
    except KeyError:
        raise NotFound(f"No bureau {bureau!r}.") from None
    emails = [c["email"].lower() for c in contacts]
    if len(set(emails)) != len(emails):
        raise Invalid("An address is listed twice.", {"contacts": ["Duplicate e-mail address."]})
    session.execute(delete(BureauContact).where(BureauContact.bureau == bureau))
    session.add_all(BureauContact(bureau=bureau, email=c["email"].lower(), name=c["name"]) for c in contacts)
    session.flush()
    return next(b for b in bureaus_with_contacts(session, catalog) if b["id"] == bureau)
