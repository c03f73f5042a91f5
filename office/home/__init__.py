"""The landing page: what the signed-in user can do today."""
