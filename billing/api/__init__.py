"""The billing REST API: one view per operation (CONVENTIONS.md §1), one module
per purpose (``attest``, ``verify``, ``keys``, ``bundles``, ``usage``; ``shared``
holds the body checks).

* ``POST /api/vdi/billing/attest`` (tenant API key): meter envelope or bare meter
  event in, ``vdi-billing/3`` bundle out (201; 409 ``period_closed`` for a closed
  billing period; 200 with
  ``Idempotent-Replayed: true`` for a retry of the same body).
* ``POST /api/vdi/billing/attest/batch`` (tenant API key): ``{"events": [...]}``,
  1-100 envelopes or events (Stripe's meter-event stream limit), one outcome per
  event, one log append and checkpoint for the whole batch.
* ``POST /api/vdi/billing/verify[?profile=standard|VDI_VERIFY_STRICT_V1]`` (no
  auth): bundle in (or ``{"bundle": ..., "profile": ...}``), verification report
  out; the strict profile uses the revocation snapshot in force.
* ``GET|POST /api/vdi/billing/meter-keys`` (tenant API key): list / register the
  tenant's gateway meter keys (JWK in, kid out; 409 ``meter_key_conflict``).
* ``POST /api/vdi/billing/meter-keys/<kid>/retire`` and ``.../revoke`` (tenant
  API key): end the key's window now / revoke the kid (revocation snapshot).
* ``GET /api/vdi/billing/bundles?window=&metric=&from=&to=&cursor=&limit=``
  (tenant API key): the tenant's own bundles, newest first, cursor-paginated
  (``{"data", "has_more", "next_cursor"}``).
* ``GET /api/vdi/billing/bundles/<receipt_id>`` (tenant API key): a stored bundle
  (with a detached ``billing_proof`` once the async prover attached it).
* ``GET /api/vdi/billing/bundles/<receipt_id>/proof`` (tenant API key): the
  bundle's proof status (``none``/``embedded``/``pending``/``attached``/
  ``failed``); attest answers carry it too (``Billing-Proof-Status`` header,
  ``proof_status`` in batch results).
* ``GET /api/vdi/billing/usage?metric=&from=&to=&group_by=hour|day|window``
  (tenant API key): the tenant's usage of one metric, summed per group.
* ``GET /.well-known/vdi-billing-trust.json``: the trust anchors.
"""
