"""The audit trail: who did what, and when, across the app."""
