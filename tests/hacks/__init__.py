"""The reward-hacking catalogue (see ``catalogue.py`` and docs/reward-hacking.md)."""
