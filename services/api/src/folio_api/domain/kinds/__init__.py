"""Job kinds workers declared: ``GET /v1/job-types``, and the payload
validation of ``POST /v1/jobs`` (against each kind's JSON schema)."""
