"""Repair works on the venue: work orders, the materials they use, equipment and spend."""
