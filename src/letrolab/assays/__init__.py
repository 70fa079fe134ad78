"""letrolab.assays."""
