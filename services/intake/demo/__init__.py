"""Demo data: a seeded, reproducible history of the plan, written through intake's own logic.

`python -m services.intake demo-data` fills an empty intake database with activity targets,
bureaus' quarterly reports, outcome statistics from the plan's history year on, and anonymous
case records, all marked as demo data (shared/demo_marks.py). The numbers come from
`demo_distributions.yaml` (distributions.py reads it); cases.py draws the case records;
generator.py plans and writes the rest.
"""

from services.intake.demo.cases import CaseDrawer, allocate_cases
from services.intake.demo.distributions import (
    DISTRIBUTIONS_PATH,
    Distributions,
    DistributionsError,
    Joint,
    apportion,
    load_distributions,
)
from services.intake.demo.generator import CASE_BATCH, DemoGenerator, NotEmpty, generate, taipei_moment
from shared.demo_marks import DEMO_ACTOR, DEMO_CONTACT_DOMAIN, DEMO_MARK, DEMO_REF_PREFIX

__all__ = [
    "CASE_BATCH",
    "DEMO_ACTOR",
    "DEMO_CONTACT_DOMAIN",
    "DEMO_MARK",
    "DEMO_REF_PREFIX",
    "DISTRIBUTIONS_PATH",
    "CaseDrawer",
    "DemoGenerator",
    "Distributions",
    "DistributionsError",
    "Joint",
    "NotEmpty",
    "allocate_cases",
    "apportion",
    "generate",
    "load_distributions",
    "taipei_moment",
]
