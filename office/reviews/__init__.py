"""The ministry's review: the dashboard, every flagged item in one queue, month sign-off,
point-in-time views, the monthly report and the audit trail."""
