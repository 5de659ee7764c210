"""The audit trail of personal data: who read or changed whose file, when, from where; refusals too."""
