"""Accounts, roles, permissions, login and logout."""
