"""The intake service's own Prometheus metrics."""

from prometheus_client import Counter

REPORTS_SUBMITTED = Counter(
    "dgbv_intake_reports_submitted_total",
    "Quarterly reports submitted (first submissions and resubmissions), by bureau.",
    ["bureau"],
)
