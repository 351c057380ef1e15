"""Citizen reports: the public page at /report, its API, and the reporter's protection."""
