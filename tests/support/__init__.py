"""Helpers shared by the tests: factories, a shop on the localnet, scripted servers, services."""
