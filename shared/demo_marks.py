"""The marks of demo data (`python -m services.intake demo-data`), by which every service and reader
tells it from real records."""

DEMO_MARK = "【示範資料】"  # starts every report narrative and coordinator's comment
DEMO_ACTOR = "示範資料產生器"  # every actor and `updated_by`
DEMO_REF_PREFIX = "DEMO-"  # starts every case ref; kpi recognises demo data by it
DEMO_CONTACT_DOMAIN = "demo.example.org"  # of the bureaus' addresses; RFC 2606: never a real mailbox
