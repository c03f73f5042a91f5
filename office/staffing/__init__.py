"""Staffing: both sides' rosters, stays on site, duty, crossing name lists and the planner."""
