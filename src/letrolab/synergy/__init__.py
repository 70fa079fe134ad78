"""letrolab.synergy."""
