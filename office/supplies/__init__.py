"""Deliveries across the border: manifests screened line by line, crossings through the ledger,
receipt into on-site stock, and returns south."""
