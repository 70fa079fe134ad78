"""letrolab.model."""
