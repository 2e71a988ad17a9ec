"""The intake service's own Prometheus metrics."""

from prometheus_client import Counter

REPORTS_SUBMITTED = Counter(
    "dgbv_intake_reports_submitted_total",
    "Quarterly reports submitted (first submissions and resubmissions), by bureau.",
    ["bureau"],
)

SIGN_INS = Counter(
    "dgbv_intake_sign_ins_total",
    "Sign-in attempts on the pages, by outcome: signed_in, refused (wrong name or password), "
    "throttled (429: this name from this address, or this address, must wait), busy (503: no "
    "password check affordable now).",
    ["outcome"],
)
PASSWORD_VERIFICATIONS = Counter(
    "dgbv_intake_password_verifications_total",
    "argon2 password checks computed, by whether the user name was known (an unknown one costs the same).",
    ["name"],
)
