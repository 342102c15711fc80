"""Payments: customers, merchants and cash agents, mules and account-takeover fraud."""
