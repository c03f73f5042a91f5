"""Fuel, generators and electricity, the daily operations log, and the UN petroleum report."""
