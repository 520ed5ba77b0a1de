"""Management commands of the audittrail app."""
