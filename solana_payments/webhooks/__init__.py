"""Signed webhooks: endpoints, one delivery row per event and endpoint, delivered by django-q2."""
