"""letrolab.report."""
