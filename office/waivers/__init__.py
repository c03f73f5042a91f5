"""Sanctions waivers, the resource catalogue and the drawdown ledger."""
