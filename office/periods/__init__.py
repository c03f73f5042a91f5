"""Months the ministry's reviewers signed off: their operational records are final."""
