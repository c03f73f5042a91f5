"""Stock on site, in lots drawn first in, first out: shared by fuel tanks and materials."""
