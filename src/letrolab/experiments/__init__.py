"""letrolab.experiments."""
